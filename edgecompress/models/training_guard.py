"""Keeps a recovery training from collapsing: precise BatchNorm statistics, a divergence stop, and an
EMA whose averaging window suits a short run.

Both are Ultralytics trainer callbacks, added by the trainer itself so that DDP workers get them.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any


def exploded_terms(losses: dict[str, Any], limit: float) -> dict[str, float]:
    """The loss terms (``*loss*`` keys) that are not finite or above ``limit``."""
    bad = {}
    for key, value in losses.items():
        if "loss" not in key:
            continue
        number = float(value)
        if not math.isfinite(number) or number > limit:
            bad[key] = number
    return bad


class TrainingGuard:
    """Per-trainer state: the calibration batches, the last good epoch, where training diverged."""

    def __init__(self, precise_bn: int = 256, diverge_loss: float = 1.0e5, ema_epochs: float = 0.0) -> None:
        self.precise_bn_images = precise_bn
        self.diverge_loss = diverge_loss
        self.ema_epochs = ema_epochs
        self.good_epoch: int | None = None
        self.diverged: dict[str, Any] | None = None

    def attach(self, trainer: Any) -> None:
        """Register the callbacks on ``trainer`` and expose this guard as ``trainer.guard_state``."""
        trainer.guard_state = self
        if self.precise_bn_images:
            trainer.add_callback("on_train_epoch_end", self.precise_bn)
        trainer.add_callback("on_fit_epoch_end", self.check)
        if self.ema_epochs:
            trainer.add_callback("on_train_start", self.set_ema_window)

    def set_ema_window(self, trainer: Any) -> None:
        """Make the EMA average over about ``ema_epochs`` epochs of optimizer steps.

        Ultralytics' EMA ramps its decay as 0.9999 · (1 − exp(−updates / 2000)); a recovery run of 24
        epochs on 1,000 images makes about 380 updates (one per nominal batch of 64), which leaves the
        decay at 0.17: the EMA is the current weights, and their epoch-to-epoch jitter reaches val.
        Here the window is ``ema_epochs`` epochs' updates (decay 1 − 1/window), reached with the same
        exponential ramp over that window.
        """
        import math

        steps = max(1, math.ceil(len(trainer.train_loader) / max(int(trainer.accumulate), 1)))
        window = max(1.0, self.ema_epochs * steps)
        top = 1.0 - 1.0 / window
        trainer.ema.decay = lambda updates: top * (1.0 - math.exp(-updates / window))

    def precise_bn(self, trainer: Any) -> None:
        """Re-estimate the EMA model's BatchNorm statistics on batches of the trainer's own train loader.

        With few batches an epoch (BN momentum 0.03) the running statistics lag behind weights that
        moved; the validated model then runs on statistics of another network. The batches come
        augmented as the trainer draws them, the distribution the weights are fit to: re-estimated on
        plain letterboxed train images instead, the DeepPCB YOLOv8n lost 16.6 points of mAP50-95
        without any training (0.577 → 0.411; on 64 augmented batches' images 0.579).
        """
        ema = getattr(trainer, "ema", None)
        if ema is None or getattr(ema, "ema", None) is None:
            return
        from edgecompress.models.batchnorm_statistics import recalibrate_batchnorm

        recalibrate_batchnorm(ema.ema, self.training_batches(trainer), trainer.device)

    def training_batches(self, trainer: Any) -> list[Any]:
        """At least ``precise_bn_images`` images from the train loader, preprocessed as the trainer does."""
        import itertools

        loader = trainer.train_loader
        count = max(1, -(-self.precise_bn_images // max(int(loader.batch_size or 1), 1)))
        return [trainer.preprocess_batch(batch)["img"] for batch in itertools.islice(iter(loader), count)]

    def check(self, trainer: Any) -> None:
        """Stop training when a loss term explodes; otherwise remember this epoch as good."""
        epoch = int(trainer.epoch) + 1
        if self.diverged or epoch > int(trainer.epochs):
            return  # Ultralytics calls this once more after training, for its final validation of best.pt
        losses = {**trainer.label_loss_items(trainer.tloss or {}, prefix="train"), **(trainer.metrics or {})}
        bad = exploded_terms(losses, self.diverge_loss)
        if bad:
            self.diverged = {"epoch": epoch, "terms": bad, "last_good_epoch": self.good_epoch}
            trainer.stop = True
            return
        self.good_epoch = epoch
        last = Path(trainer.last)
        if last.exists():
            shutil.copyfile(last, last.with_name("good.pt"))
