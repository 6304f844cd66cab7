"""``mlp_prune``: structured width pruning of the language module's MLPs with torch-pruning.

Each decoder MLP (gate, up, down projections) is one dependency group in torch-pruning's graph; the
channels with the smallest group L2 magnitude are removed, the same ratio in every layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from pydantic import Field

from edgecompress.passes.base import Pass, PassConfig, PassResult

if TYPE_CHECKING:
    from edgecompress.models.policy import PolicyAdapter
    from edgecompress.passes.base import PassContext


class MlpPruneConfig(PassConfig):
    """Remove ``ratio`` of every decoder MLP's hidden channels, kept counts a multiple of ``round_to``."""

    ratio: float = Field(default=0.3, gt=0.0, lt=1.0)
    round_to: int = Field(default=8, ge=1)


def prune_mlp(mlp: torch.nn.Module, ratio: float, round_to: int) -> int:
    """Prune one gate/up/down MLP in place by group magnitude; return its new hidden width."""
    import torch_pruning as tp

    width = mlp.gate_proj.out_features
    keep = max(round_to, round(width * (1 - ratio) / round_to) * round_to)
    if keep >= width:
        return width
    graph = tp.DependencyGraph().build_dependency(
        mlp, example_inputs=torch.randn(1, 2, mlp.gate_proj.in_features)
    )
    probe = graph.get_pruning_group(mlp.gate_proj, tp.prune_linear_out_channels, idxs=list(range(width)))
    scores = tp.importance.GroupMagnitudeImportance(p=2)(probe)
    drop = torch.argsort(scores)[: width - keep].tolist()
    group = graph.get_pruning_group(mlp.gate_proj, tp.prune_linear_out_channels, idxs=drop)
    group.prune()
    return mlp.gate_proj.out_features


class MlpPrunePass(Pass):
    """Narrow every decoder MLP of the language module."""

    name = "mlp_prune"
    Config = MlpPruneConfig
    families = ("policy",)

    def run(self, model: PolicyAdapter, ctx: PassContext) -> PassResult:
        config: MlpPruneConfig = self.config  # type: ignore[assignment]
        before = list(model.config.intermediate_sizes)
        sizes = [prune_mlp(layer.mlp, config.ratio, config.round_to) for layer in model.decoder_layers()]
        model.set_intermediate_sizes(sizes)
        return PassResult(model, {"intermediate_sizes_before": before, "intermediate_sizes": sizes})
