"""``layer_prune``: remove the layers of a policy's transformer stack that change their input least.

Importance of a layer = 1 − mean cosine similarity between its input and output hidden states, over a
calibration set of observations and every token position (EfficientVLA, Yang et al. 2025). The least
important layers are removed, wherever they are in the stack.

The adapter says what a removable unit is (one decoder layer of the reference VLA; a group of
SmolVLA's VLM and expert layers that keeps its self/cross-attention alternation), measures it and
removes it: :class:`LayerPrunable` is all the pass uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import Field, model_validator

from edgecompress.passes.base import Pass, PassConfig, PassResult

if TYPE_CHECKING:
    from edgecompress.passes.base import PassContext


class LayerPrunable(Protocol):
    """What ``layer_prune`` reads and changes of a model (PolicyAdapter, SmolVLAAdapter)."""

    def layer_importance(self, calibration: Any, batch: int, stack: str) -> list[float]:
        """Importance of each removable unit of ``stack`` on the calibration sample."""
        ...

    def layer_labels(self, stack: str) -> list[Any]:
        """One stable label per unit of ``stack`` (its original index), in stack order."""
        ...

    def remove_layers(self, indices: list[int], stack: str) -> None:
        """Drop the units of ``stack`` at ``indices`` (current positions)."""
        ...

    def complexity(self, imgsz: int) -> tuple[int, float]:
        """Parameters and GFLOPs of one inference."""
        ...


class LayerPruneConfig(PassConfig):
    """Remove ``layers`` decoder layers, or as many as it takes to reach ``flops`` of the original."""

    layers: int | None = Field(default=None, ge=1)
    flops: float | None = Field(default=None, gt=0.0, lt=1.0)
    calibration: int = Field(default=64, ge=1)
    batch: int = Field(default=16, ge=1)
    stack: Literal["language", "vision"] = "language"  # which transformer stack of the policy

    @model_validator(mode="after")
    def _one_target(self) -> LayerPruneConfig:
        if (self.layers is None) == (self.flops is None):
            raise ValueError("layer_prune needs exactly one of `layers` (a count) or `flops` (a fraction)")
        return self


class LayerPrunePass(Pass):
    """Drop the least important decoder layers of the language module."""

    name = "layer_prune"
    Config = LayerPruneConfig
    families = ("policy", "smolvla")

    def run(self, model: LayerPrunable, ctx: PassContext) -> PassResult:
        config: LayerPruneConfig = self.config  # type: ignore[assignment]
        assert ctx.calibration is not None, "layer_prune needs the compile's calibration sample"
        stack = config.stack
        importance = model.layer_importance(ctx.calibration(config.calibration), config.batch, stack)
        order = sorted(range(len(importance)), key=importance.__getitem__)
        original = model.layer_labels(stack)
        if config.layers is not None:
            count = min(config.layers, len(order) - 1)
            model.remove_layers(order[:count], stack)
        else:
            start_flops = model.complexity(ctx.imgsz)[1]
            count = 0
            for index in order[:-1]:
                if model.complexity(ctx.imgsz)[1] <= config.flops * start_flops:
                    break
                model.remove_layers([model.layer_labels(stack).index(original[index])], stack)
                count += 1
        removed = {original[i] for i in order[:count]}
        return PassResult(
            model,
            {
                "stack": stack,
                "importance": {str(original[i]): round(v, 6) for i, v in enumerate(importance)},
                "removed_layers": [label for label in original if label in removed],
                "kept_layers": model.layer_labels(stack),
            },
        )
