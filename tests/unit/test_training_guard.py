"""The recovery-training guard: exploded losses stop training at the last good epoch; precise BN."""

import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from edgecompress.errors import StageFailed
from edgecompress.models.training_guard import TrainingGuard, exploded_terms
from edgecompress.passes.training import trained_checkpoint


def test_exploded_terms_are_the_non_finite_or_huge_losses():
    losses = {
        "train/box_loss": 2.0,
        "val/cls_loss": 1e9,
        "val/dfl_loss": float("nan"),
        "metrics/mAP50(B)": 5e3,
    }
    bad = exploded_terms(losses, 1000.0)
    assert set(bad) == {"val/cls_loss", "val/dfl_loss"}  # metrics are not losses


class _FakeTrainer:
    def __init__(self, folder: Path, metrics: dict) -> None:
        self.last, self.best = folder / "last.pt", folder / "best.pt"
        self.tloss, self.metrics, self.epoch, self.epochs, self.stop = {"box_loss": 1.0}, metrics, 0, 5, False

    def label_loss_items(self, items, prefix="train"):
        return {f"{prefix}/{k}": v for k, v in items.items()}

    def add_callback(self, event, fn):
        pass


def test_a_run_that_diverges_later_keeps_its_last_good_epoch(tmp_path):
    trainer = _FakeTrainer(tmp_path, {"val/cls_loss": 3.0})
    TrainingGuard(precise_bn=0).attach(trainer)
    trainer.last.write_bytes(b"epoch1")
    trainer.guard_state.check(trainer)
    assert not trainer.stop and (tmp_path / "good.pt").read_bytes() == b"epoch1"
    trainer.epoch, trainer.metrics = 1, {"val/cls_loss": 1.2e9}
    trainer.last.write_bytes(b"epoch2-exploded")
    trainer.guard_state.check(trainer)
    assert trainer.stop
    chosen, record = trained_checkpoint(trainer, prefer="last")
    assert chosen.read_bytes() == b"epoch1"
    assert record == {"epoch": 2, "terms": {"val/cls_loss": 1.2e9}, "last_good_epoch": 1}


def test_a_run_that_diverges_in_its_first_epoch_fails_with_the_fix(tmp_path):
    trainer = _FakeTrainer(tmp_path, {"val/cls_loss": float("inf")})
    TrainingGuard(precise_bn=0).attach(trainer)
    trainer.last.write_bytes(b"x")
    trainer.guard_state.check(trainer)
    with pytest.raises(StageFailed, match=r"diverged in epoch 1 \(val/cls_loss inf\).*lower lr0"):
        trained_checkpoint(trainer, prefer="best")


def test_precise_bn_sets_the_ema_statistics_to_the_trainers_own_batches():
    """The statistics come from the train loader as the trainer preprocesses it, not a second pipeline."""
    torch.manual_seed(0)
    raw = [{"img": torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)} for _ in range(5)]
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4, momentum=0.03)).eval()

    class Loader(list):
        batch_size = 4

    trainer = SimpleNamespace(
        ema=SimpleNamespace(ema=net),
        train_loader=Loader(raw),
        device="cpu",
        preprocess_batch=lambda batch: {"img": batch["img"].float() / 255},
    )
    TrainingGuard(precise_bn=8).precise_bn(trainer)  # 8 images: the first two batches of four
    images = torch.cat([b["img"].float() / 255 for b in raw[:2]])
    with torch.no_grad():
        features = net[0](images)
    bn = net[1]
    assert torch.allclose(bn.running_mean, features.mean(dim=(0, 2, 3)), atol=1e-5)
    per_batch_var = torch.stack([net[0](b).var(dim=(0, 2, 3), unbiased=True) for b in images.split(4)])
    assert torch.allclose(bn.running_var, per_batch_var.mean(dim=0), rtol=1e-3)
    assert not net.training


@pytest.mark.parametrize(("prefer", "kept"), [("last", b"final epoch"), ("best", b"best epoch by val")])
def test_a_finished_run_keeps_the_epoch_its_checkpoint_setting_names(tmp_path, prefer, kept):
    trainer = _FakeTrainer(tmp_path, {"val/cls_loss": 3.0})
    TrainingGuard(precise_bn=0).attach(trainer)
    trainer.last.write_bytes(b"final epoch")
    trainer.best.write_bytes(b"best epoch by val")
    trainer.guard_state.check(trainer)
    chosen, record = trained_checkpoint(trainer, prefer=prefer)
    assert chosen.read_bytes() == kept and record is None


def test_ema_window_is_counted_in_epochs_of_optimizer_steps():
    trainer = SimpleNamespace(train_loader=[None] * 63, accumulate=4, ema=SimpleNamespace(decay=None))
    TrainingGuard(precise_bn=0, ema_epochs=3).set_ema_window(trainer)  # 16 steps an epoch: a 48-step window
    assert trainer.ema.decay(0) == 0.0
    assert trainer.ema.decay(48) == pytest.approx((1 - 1 / 48) * (1 - math.exp(-1)))
    assert trainer.ema.decay(10_000) == pytest.approx(1 - 1 / 48)


def test_without_ema_epochs_ultralytics_ema_is_left_alone():
    events = []
    trainer = SimpleNamespace(add_callback=lambda event, fn: events.append(event))
    TrainingGuard(precise_bn=0).attach(trainer)
    assert "on_train_start" not in events
    TrainingGuard(precise_bn=0, ema_epochs=2).attach(trainer)
    assert "on_train_start" in events
