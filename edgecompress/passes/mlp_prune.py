"""``mlp_prune``: structured width pruning of the language module's MLPs with torch-pruning.

Each decoder MLP (gate, up, down projections) is one dependency group in torch-pruning's graph; the
channels with the smallest group L2 magnitude are removed, the same ratio in every layer. The adapter
says which MLPs there are (the reference VLA's decoder layers; SmolVLA's VLM and expert layers) and
keeps the new widths across its save/reload (:class:`MlpPrunable`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import torch
from pydantic import Field

from edgecompress.passes.base import Pass, PassConfig, PassResult

if TYPE_CHECKING:
    from edgecompress.passes.base import PassContext


class MlpPrunable(Protocol):
    """What ``mlp_prune`` reads and changes of a model (PolicyAdapter, SmolVLAAdapter)."""

    def mlps(self) -> list[torch.nn.Module]:
        """The gate/up/down MLP modules to narrow, in a fixed order."""
        ...

    def intermediate_sizes(self) -> list[int]:
        """The hidden width of each of :meth:`mlps`."""
        ...

    def set_intermediate_sizes(self, sizes: list[int]) -> None:
        """Record the widths after the MLPs were narrowed in place."""
        ...


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
    # torch-pruning traces autograd: frozen weights (SmolVLA freezes its VLM) are unfrozen while it does
    frozen = [p for p in mlp.parameters() if not p.requires_grad]
    for parameter in frozen:
        parameter.requires_grad_(True)
    try:
        with torch.enable_grad():
            graph = tp.DependencyGraph().build_dependency(
                mlp, example_inputs=torch.randn(1, 2, mlp.gate_proj.in_features)
            )
    finally:
        for parameter in frozen:
            parameter.requires_grad_(False)
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
    families = ("policy", "smolvla")

    def run(self, model: MlpPrunable, ctx: PassContext) -> PassResult:
        config: MlpPruneConfig = self.config  # type: ignore[assignment]
        before = model.intermediate_sizes()
        sizes = [prune_mlp(mlp, config.ratio, config.round_to) for mlp in model.mlps()]
        model.set_intermediate_sizes(sizes)
        return PassResult(model, {"intermediate_sizes_before": before, "intermediate_sizes": sizes})
