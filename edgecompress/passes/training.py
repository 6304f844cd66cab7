"""What the training passes (sparsity_train, distill) share: settings, trainer arguments, resume.

The defaults are chosen so that recovering a freshly pruned model does not collapse. Measured on the
fall-detection YOLOv8s pruned 30 % (``bench/recovery_probe.py``): AdamW at lr 0.002 without warmup
moves every weight by about lr in its first steps, the BatchNorm running statistics (momentum 0.03,
8 batches an epoch on 128 photos) lag behind the moved weights, and the model that is validated
(eval mode) saturates its class logits within two steps; the validation cls loss read 1e9. The fix
is in three parts: a lower lr0 with a warmup, statistics re-estimated on train images before every
validation (precise BN), and a guard that stops a run whose losses explode and keeps its last good
epoch (:mod:`edgecompress.models.training_guard`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from edgecompress.passes.base import PassConfig


class TrainingConfig(PassConfig):
    """Settings every training pass takes (Ultralytics' trainer arguments of the same names)."""

    epochs: int = Field(10, ge=1)
    batch: int = Field(16, ge=1)
    lr0: float = Field(0.0005, gt=0, le=1, description="initial learning rate (Ultralytics accepts up to 1)")
    optimizer: str = "AdamW"
    warmup_epochs: float = Field(
        1.0, ge=0, description="linear lr warmup (Ultralytics'); bias lr starts at 0, not 0.1"
    )
    workers: int = Field(2, ge=0)
    device: str = "cpu"
    fraction: float = Field(1.0, gt=0, le=1, description="fraction of the train split to use")
    nbs: int = Field(
        64, ge=1, description="Ultralytics' nominal batch: one optimizer step per nbs/batch batches"
    )
    close_mosaic: int = Field(
        10,
        ge=0,
        description="train the last this many epochs without mosaic (Ultralytics' default; all epochs when "
        "it is at least `epochs`, none when 0). Mosaic shrinks objects; ending without it matches val",
    )
    precise_bn: int = Field(
        256,
        ge=0,
        description="train images, drawn from the trainer's own (augmented) loader, to re-estimate the "
        "BatchNorm statistics on after every epoch; 0 keeps the running statistics. 64 moved the same "
        "weights' mAP50-95 by up to 1.8 points from one draw to the next (bench/precise_bn_draws.py)",
    )
    ema_epochs: float = Field(
        0.0,
        ge=0,
        description="average the weights (Ultralytics' EMA) over about this many epochs of optimizer "
        "steps; 0 keeps Ultralytics' EMA, whose decay ramp (2,000 updates) leaves short runs un-averaged",
    )
    diverge_loss: float = Field(
        1.0e5,
        gt=0,
        description="a train or val loss term above this (or not finite) stops training; the last "
        "good epoch is kept",
    )


def resolved_data_yaml(data_yaml: Path, folder: Path) -> Path:
    """Copy of ``data_yaml`` whose ``path`` is absolute (Ultralytics resolves relative paths elsewhere)."""
    import yaml

    data = yaml.safe_load(data_yaml.read_text())
    root = Path(data.get("path") or data_yaml.parent)
    data["path"] = str(root if root.is_absolute() else (data_yaml.parent / root).resolve())
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "data.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    return target


def train_overrides(
    config: TrainingConfig, checkpoint: Path, data_yaml: Path, work: Path, imgsz: int
) -> dict[str, Any]:
    """Ultralytics trainer arguments shared by the training passes (offline, CPU-friendly, seeded)."""
    return {
        "model": str(checkpoint),
        "data": str(data_yaml),
        "epochs": config.epochs,
        "imgsz": imgsz,
        "batch": config.batch,
        "lr0": config.lr0,
        "optimizer": config.optimizer,
        "workers": config.workers,
        "device": config.device,
        "fraction": config.fraction,
        "nbs": config.nbs,
        "amp": False,
        "plots": False,
        "close_mosaic": config.close_mosaic,
        "warmup_epochs": config.warmup_epochs,
        "warmup_bias_lr": 0.0,  # Ultralytics' 0.1 is for SGD from scratch; it wrecks a trained head
        "project": str(work.resolve()),
        "name": "train",
        "exist_ok": True,
        "seed": 0,
        "deterministic": True,
        "val": True,
        "verbose": False,
    }


def guard_settings(config: TrainingConfig) -> dict[str, Any]:
    """The trainer-class settings of :class:`~edgecompress.models.training_guard.TrainingGuard`."""
    return {
        "guard": {
            "precise_bn": config.precise_bn,
            "diverge_loss": config.diverge_loss,
            "ema_epochs": config.ema_epochs,
        }
    }


def rebase_checkpoint_paths(last: Path, overrides: dict[str, Any]) -> None:
    """Point an unfinished run's stored paths (model, data, project) at this checkout's work folder.

    Ultralytics stores them absolute; a run committed from one checkout then resumes in another.
    """
    import torch

    checkpoint = torch.load(last, map_location="cpu", weights_only=False)
    stored = checkpoint.get("train_args") or {}
    wanted = {key: overrides[key] for key in ("model", "data", "project") if key in overrides}
    if all(stored.get(key) == value for key, value in wanted.items()):
        return
    checkpoint["train_args"] = {**stored, **wanted}
    torch.save(checkpoint, last)


def train_or_resume(trainer_cls: type, overrides: dict[str, Any], work: Path, resume: bool) -> Any:
    """Train with ``trainer_cls``; with ``resume`` and an unfinished ``last.pt`` in ``work``, continue it."""
    import torch

    last = work / "train" / "weights" / "last.pt"
    if (
        resume
        and last.exists()
        and torch.load(last, map_location="cpu", weights_only=False).get("epoch", -1) >= 0
    ):
        from edgecompress.ui import status

        status(f"resuming training from {last}")
        rebase_checkpoint_paths(last, overrides)
        trainer = trainer_cls(overrides={"resume": str(last)})
    else:
        trainer = trainer_cls(overrides=overrides)
    trainer.train()
    return trainer


def trained_checkpoint(trainer: Any, prefer: str) -> tuple[Path, dict[str, Any] | None]:
    """The checkpoint a training pass keeps (``best`` by fitness or ``last``) and the divergence record.

    A run the guard stopped keeps its last good epoch (``best.pt`` never holds an epoch whose fitness
    collapsed; for ``last`` the guard's ``good.pt``); one that diverged in its first epoch raises.
    """
    from edgecompress.errors import StageFailed

    guard = getattr(trainer, "guard_state", None)
    diverged = guard.diverged if guard is not None else None
    weights = Path(trainer.last).parent
    if diverged:
        good = weights / "good.pt"
        if diverged["last_good_epoch"] is None or not good.exists():
            terms = ", ".join(f"{k} {v:.3g}" for k, v in diverged["terms"].items())
            raise StageFailed(
                f"training diverged in epoch {diverged['epoch']} ({terms}) with no good epoch before it",
                "lower lr0 or raise warmup_epochs of this stage (--set stages.N.lr0=...)",
            )
        chosen = weights / "best.pt" if prefer == "best" and (weights / "best.pt").exists() else good
        return chosen, diverged
    if prefer == "best" and Path(trainer.best).exists():
        return Path(trainer.best), None
    return Path(trainer.last), None


def epoch_curve(trainer: Any) -> list[dict[str, float]]:
    """Per-epoch validation mAP and wall time of a finished run, from Ultralytics' ``results.csv``.

    This is the accuracy-against-epochs curve of a recovery run: fewer epochs for the same mAP is
    a cheaper compile.
    """
    import csv

    path = Path(trainer.save_dir) / "results.csv"
    if not path.exists():
        return []
    curve = []
    with path.open() as handle:
        for row in csv.DictReader(handle):
            row = {k.strip(): v for k, v in row.items()}
            curve.append(
                {
                    "epoch": int(float(row["epoch"])),
                    "time_s": round(float(row.get("time") or 0.0), 1),
                    "map50": round(float(row.get("metrics/mAP50(B)") or 0.0), 4),
                    "map50_95": round(float(row.get("metrics/mAP50-95(B)") or 0.0), 4),
                }
            )
    return curve
