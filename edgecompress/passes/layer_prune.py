"""``layer_prune``: remove the decoder layers of a policy's language module that change their input least.

Importance of a layer = 1 − mean cosine similarity between its input and output hidden states, over a
calibration set of observations and every token position (EfficientVLA, Yang et al. 2025). The least
important layers are removed, wherever they are in the stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from pydantic import Field, model_validator

from edgecompress.passes.base import Pass, PassConfig, PassResult

if TYPE_CHECKING:
    from edgecompress.models.policy import PolicyAdapter
    from edgecompress.passes.base import PassContext


class LayerPruneConfig(PassConfig):
    """Remove ``layers`` decoder layers, or as many as it takes to reach ``flops`` of the original."""

    layers: int | None = Field(default=None, ge=1)
    flops: float | None = Field(default=None, gt=0.0, lt=1.0)
    calibration: int = Field(default=64, ge=1)
    batch: int = Field(default=16, ge=1)

    @model_validator(mode="after")
    def _one_target(self) -> LayerPruneConfig:
        if (self.layers is None) == (self.flops is None):
            raise ValueError("layer_prune needs exactly one of `layers` (a count) or `flops` (a fraction)")
        return self


def layer_importance(policy: PolicyAdapter, observations: tuple, batch: int = 16) -> list[float]:
    """1 − mean cosine similarity of each decoder layer's input and output (all tokens, all observations)."""
    from edgecompress.models.policy import image_tensor

    layers = policy.decoder_layers()
    totals, counts = torch.zeros(len(layers)), torch.zeros(len(layers))

    def hook(index: int) -> Any:
        def record(module: torch.nn.Module, args: tuple, kwargs: dict, output: torch.Tensor) -> None:
            hidden_in = args[0] if args else kwargs["hidden_states"]
            similarity = torch.nn.functional.cosine_similarity(hidden_in, output, dim=-1)
            totals[index] += similarity.sum()
            counts[index] += similarity.numel()

        return record

    handles = [layer.register_forward_hook(hook(i), with_kwargs=True) for i, layer in enumerate(layers)]
    images, text, states = observations
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch):
                part = slice(start, start + batch)
                policy.network.context(
                    image_tensor(images[part]), torch.from_numpy(text[part]), torch.from_numpy(states[part])
                )
    finally:
        for handle in handles:
            handle.remove()
    return (1.0 - totals / counts.clamp_min(1)).tolist()


class LayerPrunePass(Pass):
    """Drop the least important decoder layers of the language module."""

    name = "layer_prune"
    Config = LayerPruneConfig
    families = ("policy",)

    def run(self, model: PolicyAdapter, ctx: PassContext) -> PassResult:
        from edgecompress.models.policy import complexity

        config: LayerPruneConfig = self.config  # type: ignore[assignment]
        importance = layer_importance(
            model, model.observations(ctx.calibration(config.calibration)), config.batch
        )
        order = sorted(range(len(importance)), key=importance.__getitem__)
        original = model.config.kept_layers
        start_flops = complexity(model)["gflops"]
        if config.layers is not None:
            count = min(config.layers, len(order) - 1)
            model.remove_layers(order[:count])
        else:
            removed: list[int] = []
            for index in order[:-1]:
                if complexity(model)["gflops"] <= config.flops * start_flops:
                    break
                removed.append(index)
                model.remove_layers([model.config.kept_layers.index(original[index])])
            count = len(removed)
        return PassResult(
            model,
            {
                "importance": {str(original[i]): round(v, 6) for i, v in enumerate(importance)},
                "removed_layers": sorted(original[i] for i in order[:count]),
                "kept_layers": model.config.kept_layers,
            },
        )
