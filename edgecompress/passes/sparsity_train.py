"""Sparsity-aware training: L1 on BatchNorm scales inside Ultralytics' trainer (network slimming).

Pushes the γ of unimportant channels towards zero so that BN-scale pruning afterwards removes
channels that carry little signal. Reports the γ histogram and the fraction under a threshold
before and after.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from edgecompress.passes.base import Pass, PassConfig, PassResult

if TYPE_CHECKING:
    from edgecompress.compiler import CompileContext

HIST_BINS = np.linspace(0.0, 2.0, 41)


class SparsityConfig(PassConfig):
    """λ, its schedule, and training length."""

    lam: float = Field(0.05, ge=0, description="L1 weight on |γ| (added as λ·sign(γ) to the gradient)")
    schedule: Literal["constant", "linear"] = "constant"
    mask_ratio: float | None = Field(None, gt=0, lt=1, description="penalise only the smallest this fraction")
    threshold: float = Field(0.05, gt=0, description="report the fraction of |γ| below this")
    epochs: int = Field(10, ge=1)
    batch: int = Field(16, ge=1)
    lr0: float = Field(0.01, gt=0)
    optimizer: str = "SGD"  # L1 subgradients under Adam are renormalised away
    workers: int = Field(2, ge=0)
    device: str = "cpu"
    fraction: float = Field(1.0, gt=0, le=1)


def gamma_summary(model: Any, threshold: float) -> dict[str, Any]:
    """Histogram of |γ| over the prunable BN layers and the fraction below ``threshold``."""
    from edgecompress.models.yolo_training import bn_scales
    from edgecompress.passes.bn_prune import head_output_layers

    skip = {id(sub) for m in head_output_layers(model) for sub in m.modules()}
    gammas = np.concatenate([m.weight.detach().abs().float().numpy() for m in bn_scales(model, skip)])
    counts, _ = np.histogram(np.clip(gammas, 0, HIST_BINS[-1]), HIST_BINS)
    return {
        "fraction_below": float((gammas < threshold).mean()),
        "threshold": threshold,
        "hist_counts": counts.tolist(),
        "hist_edges": HIST_BINS.tolist(),
        "channels": int(gammas.size),
    }


class SparsityTrainPass(Pass):
    """Train with L1 on BN γ (recipe key ``sparsity_train``)."""

    name = "sparsity_train"
    Config = SparsityConfig

    def run(self, model: Any, ctx: CompileContext) -> PassResult:
        """Train ``model`` with the sparsity penalty; return the last checkpoint's model."""
        from ultralytics.nn.tasks import load_checkpoint

        from edgecompress.models.yolo_training import SparsityTrainer, student_of
        from edgecompress.passes.distill import resolved_data_yaml, train_or_resume, train_overrides

        config = self.config
        assert isinstance(config, SparsityConfig)
        before = gamma_summary(model, config.threshold)
        work = ctx.stage_dir
        student = ctx.detector.with_model(model, work / "start.pt")
        overrides = train_overrides(
            config, student.checkpoint, resolved_data_yaml(ctx.data_yaml, work), work, ctx.imgsz
        )
        trainer_cls = type(
            "ConfiguredSparsityTrainer",
            (SparsityTrainer,),
            {"penalty": {"lam": config.lam, "schedule": config.schedule, "mask_ratio": config.mask_ratio}},
        )
        trainer = train_or_resume(trainer_cls, overrides, work, ctx.resume)
        last = Path(trainer.last)
        trained = student_of(load_checkpoint(str(last))[0]).float().eval()
        after = gamma_summary(trained, config.threshold)
        details = {
            "lam": config.lam,
            "schedule": config.schedule,
            "mask_ratio": config.mask_ratio,
            "epochs": config.epochs,
            "gamma_before": before,
            "gamma_after": after,
        }
        return PassResult(trained, details)
