"""Sparsity-aware training: L1 on BatchNorm scales inside Ultralytics' trainer (network slimming).

Pushes the γ of unimportant channels towards zero so that BN-scale pruning afterwards removes
channels that carry little signal. Reports the γ histogram and the fraction under a threshold
before and after.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from edgecompress.passes.base import Pass, PassResult
from edgecompress.passes.training import TrainingConfig

if TYPE_CHECKING:
    from edgecompress.passes.base import PassContext

HIST_BINS = np.linspace(0.0, 2.0, 41)


class SparsityConfig(TrainingConfig):
    """λ, its schedule, and training length."""

    method: Literal["l1", "shrink"] = Field(
        "l1",
        description="l1: λ·sign(γ) added to the gradient (network slimming); shrink: γ and β of the masked "
        "channels faded to shrink_to of their value over the run (gradual pruning; needs a mask)",
    )
    shrink_to: float = Field(0.01, gt=0, lt=1, description="method shrink: what is left of a masked γ and β")
    lam: float = Field(0.05, ge=0, description="L1 weight on |γ| (added as λ·sign(γ) to the gradient)")
    schedule: Literal["constant", "linear"] = "constant"
    mask_ratio: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="penalise only the channels that bn_prune at this ratio would remove (a fraction "
        "of its target: channels, params or FLOPs; criterion, round_to and max_layer_ratio from the "
        "recipe's bn_prune stage)",
    )
    mask: bool | dict[str, Any] = Field(
        False,
        description="penalise only the channels the recipe's bn_prune stage will remove, at its ratio "
        "(true), "
        "or those a bn_prune with these settings would remove (e.g. {ratio: 0.65, criterion: uniform, "
        "round_to: 8}), for a sparsity-only compile whose model is pruned later",
    )

    @field_validator("mask")
    @classmethod
    def _mask_is_a_prune_setting(cls, mask: bool | dict[str, Any]) -> bool | dict[str, Any]:
        if isinstance(mask, dict):
            from edgecompress.passes.bn_prune import BNPruneConfig

            BNPruneConfig(**mask)  # unknown keys and bad values are refused when the recipe loads
        return mask

    @model_validator(mode="after")
    def _shrink_needs_a_mask(self) -> SparsityConfig:
        if self.method == "shrink" and self.mask_ratio is None and not self.mask:
            raise ValueError(
                "method shrink fades the channels a prune will remove: set mask (true, or the prune's "
                "settings) or mask_ratio"
            )
        return self

    threshold: float = Field(0.05, gt=0, description="report the fraction of |γ| below this")
    distill_weight: float = Field(
        0.0,
        ge=0,
        description="train with CWD from the model before compression at this weight (as the distill "
        "pass does), so that the penalty moves the network away from the teacher as little as it can; "
        "0 trains without a teacher",
    )
    tau: float = Field(4.0, gt=0, description="CWD temperature when distill_weight > 0")
    lr0: float = Field(0.01, gt=0, le=1)
    optimizer: str = "SGD"  # L1 subgradients under Adam are renormalised away


def gamma_summary(model: Any, threshold: float) -> dict[str, Any]:
    """Histogram of |γ| over the prunable BN layers and the fraction below ``threshold``."""
    from edgecompress.models.yolo_head import head_output_layers
    from edgecompress.models.yolo_training import bn_scales

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


def mask_pruning_settings(config: SparsityConfig, stages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The bn_prune settings whose plan the mask follows: the recipe's bn_prune stage at the mask's ratio.

    ``mask_ratio`` sets that ratio; ``mask: true`` without it takes the bn_prune stage's own ratio,
    so ``--set stages.1.ratio=...`` moves the mask with the prune.
    """
    if config.mask_ratio is None and not config.mask:
        return None
    from edgecompress.passes.bn_prune import BNPruneConfig

    if isinstance(config.mask, dict):
        explicit = dict(config.mask)
        if config.mask_ratio is not None:
            explicit["ratio"] = config.mask_ratio
        if explicit.get("criterion") == "threshold":
            explicit["criterion"] = "global"
        return BNPruneConfig(**explicit).model_dump()
    stage = next((dict(s) for s in stages if s.get("pass") == "bn_prune"), {})
    keep = {"criterion", "target", "round_to", "max_layer_ratio"}
    settings = {k: v for k, v in stage.items() if k in keep}
    if settings.get("criterion") == "threshold":
        settings["criterion"] = "global"  # the mask needs a ratio; a threshold has none before training
    ratio = config.mask_ratio if config.mask_ratio is not None else stage.get("ratio", BNPruneConfig().ratio)
    return BNPruneConfig(**settings, ratio=ratio).model_dump()


class SparsityTrainPass(Pass):
    """Train with L1 on BN γ (recipe key ``sparsity_train``)."""

    name = "sparsity_train"
    reads_train = "labels"
    Config = SparsityConfig

    def run(self, model: Any, ctx: PassContext) -> PassResult:
        """Train ``model`` with the sparsity penalty; return the last checkpoint's model."""
        from ultralytics.nn.tasks import load_checkpoint

        from edgecompress.models.yolo_training import (
            SparseDistillationTrainer,
            SparsityTrainer,
            configured,
            student_of,
        )
        from edgecompress.passes.bn_prune import plan_for_settings
        from edgecompress.passes.training import (
            epoch_curve,
            guard_settings,
            resolved_data_yaml,
            train_or_resume,
            train_overrides,
            trained_checkpoint,
        )

        config = self.config
        assert isinstance(config, SparsityConfig)
        prune = mask_pruning_settings(config, list(ctx.stages))
        if prune:
            from edgecompress.models.yolo_modules import make_prunable

            make_prunable(model)  # the mask is torch-pruning's plan, named on the split-free model
        before = gamma_summary(model, config.threshold)
        work = ctx.work
        student = ctx.adapter.with_model(model, work / "start.pt")
        overrides = train_overrides(
            config, student.checkpoint, resolved_data_yaml(ctx.data, work), work, ctx.imgsz
        )
        teacher = None
        if config.distill_weight > 0:
            teacher = str(Path(ctx.teacher).resolve())
            overrides.update({"distill_model": teacher, "dis": config.distill_weight})
        trainer_cls = configured(
            SparseDistillationTrainer if teacher else SparsityTrainer,
            penalty={
                "method": config.method,
                "shrink_to": config.shrink_to,
                "lam": config.lam,
                "schedule": config.schedule,
                "prune": prune,
                "planner": plan_for_settings,
            },
            tau=config.tau,
            **guard_settings(config),
        )
        trainer = train_or_resume(trainer_cls, overrides, work, ctx.resume)
        last, stopped = trained_checkpoint(trainer, prefer="last")
        trained = student_of(load_checkpoint(str(last))[0]).float().eval()
        from ultralytics.utils.torch_utils import unwrap_model

        after = gamma_summary(trained, config.threshold)
        details = {
            "method": config.method,
            "shrink_to": config.shrink_to if config.method == "shrink" else None,
            "lam": config.lam,
            "schedule": config.schedule,
            "mask_ratio": config.mask_ratio,
            "mask_follows": prune,
            "epochs": config.epochs,
            "teacher": teacher,
            "trainer_model": type(unwrap_model(trainer.model)).__name__,
            "distill_weight": config.distill_weight,
            "gamma_before": before,
            "gamma_after": after,
            "stopped_diverging": stopped,
            "val_curve": epoch_curve(trainer),
        }
        return PassResult(trained, details)
