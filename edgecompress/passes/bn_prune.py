"""BN-scale structured channel pruning over torch-pruning's dependency graph.

Channels are ranked by |γ| of the BatchNorm that follows each conv (network slimming), either
globally across the network or uniformly per layer, and removed with every coupled channel
(residual adds, concats) via torch-pruning. The Detect head's final convs and DFL are never pruned.
Afterwards the BatchNorm statistics are re-estimated on train images (``models/batchnorm_statistics.py``):
without that, the mean shift of the removed channels alone collapses a trained model.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from edgecompress.models.yolo_head import head_output_layers
from edgecompress.passes.base import Pass, PassConfig, PassResult
from edgecompress.passes.search_guard import bounded_search

if TYPE_CHECKING:
    from torch import nn

    from edgecompress.passes.base import PassContext


class BNPruneConfig(PassConfig):
    """How much to prune and by which criterion."""

    ratio: float = Field(0.5, gt=0, lt=1, description="fraction of `target` to remove")
    target: Literal["channels", "params", "flops"] = "channels"
    criterion: Literal["global", "uniform", "threshold"] = "global"
    threshold: float | None = Field(
        None, gt=0, description="criterion=threshold: prune channels with |γ| below"
    )
    round_to: int = Field(8, ge=1, description="keep channel counts multiples of this (TensorRT/OpenVINO)")
    max_layer_ratio: float = Field(0.9, gt=0, lt=1, description="no layer loses more than this fraction")
    steps: int = Field(8, ge=1, description="bisection steps when aiming at a params/FLOPs target")
    budget_ms: float | None = Field(
        None, gt=0, description="search the channel ratio: least pruning whose p50 on the target fits this"
    )
    search_steps: int = Field(5, ge=1, description="bisection steps of the budget search")
    recalibrate: int = Field(
        256, ge=0, description="train images to re-estimate BatchNorm statistics on after pruning (0: off)"
    )
    layer_widths: dict[str, int] = Field(
        default_factory=dict,
        description="output channels to keep in these convs (module name of a conv or of the block holding "
        "it, e.g. model.0; a multiple of round_to), lowest |γ| removed; overrides the criterion there "
        "(the global |γ| cut leaves a stem whose γ are large whole)",
    )
    search_seconds: float = Field(600, gt=0, description="stop torch-pruning's graph search after this")
    search_memory_gb: float = Field(8, gt=0, description="stop the graph search when it grows memory by this")

    @model_validator(mode="after")
    def _threshold_needs_value(self) -> BNPruneConfig:
        if self.criterion == "threshold" and self.threshold is None:
            raise ValueError("criterion 'threshold' needs a threshold value")
        return self


def fraction_below(model: nn.Module, threshold: float, ignored: list[nn.Module]) -> float:
    """Fraction of prunable BN channels whose |γ| is below ``threshold``."""
    import torch

    skip = {id(p) for m in ignored for p in m.parameters()}
    gammas = [
        m.weight.detach().abs()
        for m in model.modules()
        if isinstance(m, torch.nn.BatchNorm2d) and id(m.weight) not in skip
    ]
    values = torch.cat(gammas)
    return float((values < threshold).float().mean())


def hide_attention(model: nn.Module) -> list[tuple[nn.Module, nn.Module]]:
    """Swap each C2PSA attention branch for an identity while torch-pruning traces the model.

    Its reshapes make torch-pruning's group search explode (YOLO11); the branch's input conv is
    ignored instead, so its width and the attention itself are left as they are.
    """
    from torch import nn

    from edgecompress.models.yolo_modules import C2PSASplit

    hidden = [(block, block.m) for block in model.modules() if isinstance(block, C2PSASplit)]
    for block, _ in hidden:
        block.m = nn.Identity()
    return hidden


def attention_modules(model: nn.Module) -> list[nn.Module]:
    """Ultralytics' attention (``Attention`` in PSA/C2PSA/C3k2-attn blocks, YOLO12's ``AAttn``).

    Their view/reshape/split chains give torch-pruning index mappings that grow on every pass of its
    group search (VainF/Torch-Pruning#430, #525: YOLOv10 hung, YOLO12 ran out of memory at 24 GB,
    YOLO26 at 12 GB). Ignored, they are never the root of a group; their output joins the block's
    residual add, so the groups that would change their width are refused with them, and the
    convs around them stay prunable.
    """
    from ultralytics.nn.modules.block import AAttn, Attention

    return [m for m in model.modules() if isinstance(m, (Attention, AAttn))]


def _ignored_layers(model: nn.Module, hidden: list[tuple[nn.Module, nn.Module]]) -> list[nn.Module]:
    """Layers no group may start from: the head outputs, every attention and the hidden branches' inputs."""
    return head_output_layers(model) + [block.cv1 for block, _ in hidden] + attention_modules(model)


def _meta_pruner(model: nn.Module, config: BNPruneConfig, example: Any, **settings: Any) -> Any:
    """torch-pruning's MetaPruner scoring raw |γ|, with the head outputs and every attention left alone."""
    import torch_pruning as tp

    hidden = hide_attention(model)  # trace without attention; its input width stays fixed
    search = "torch-pruning's dependency-graph search"
    try:
        with bounded_search(config.search_seconds, config.search_memory_gb, search):
            return tp.pruner.MetaPruner(
                model,
                example,
                importance=tp.importance.BNScaleImportance(normalizer=None),  # comparable across layers
                global_pruning=False,
                max_pruning_ratio=config.max_layer_ratio,
                iterative_steps=1,
                ignored_layers=_ignored_layers(model, hidden),
                round_to=config.round_to,
                **settings,
            )
    finally:
        for block, attention in hidden:
            block.m = attention


def coupled_groups(model: nn.Module, config: BNPruneConfig, example: Any) -> list[Any]:
    """torch-pruning's groups of coupled channels (public DependencyGraph API), as its pruner forms them.

    Every group starts at a conv or linear layer outside the ignored ones (head outputs, attention).
    """
    import torch_pruning as tp
    from torch import nn

    hidden = hide_attention(model)
    search = "torch-pruning's dependency-graph search"
    try:
        with bounded_search(config.search_seconds, config.search_memory_gb, search):
            graph = tp.DependencyGraph().build_dependency(model, example_inputs=example)
            ignored = [sub for layer in _ignored_layers(model, hidden) for sub in layer.modules()]
            roots = [nn.Conv2d, nn.Linear]
            return list(graph.get_all_groups(ignored_layers=ignored, root_module_types=roots))
    finally:
        for block, attention in hidden:
            block.m = attention


def global_layer_ratios(model: nn.Module, config: BNPruneConfig, ratio: float, example: Any) -> dict:
    """Network slimming's global criterion: one threshold on raw |γ| over every prunable channel.

    Each coupled group (residual adds, concats) loses the share of its channels under the threshold,
    capped at ``max_layer_ratio``. (torch-pruning's own global mode ranks γ relative to each layer's
    mean, and skips a layer whose channels all fall under the threshold instead of capping it.)
    """
    import torch
    import torch_pruning as tp

    raw_gamma = tp.importance.BNScaleImportance(normalizer=None)  # the group's mean |γ| per channel
    groups = coupled_groups(model, config, example)
    scored = [(group[0].dep.target.module, raw_gamma(group)) for group in groups]
    scored = [(module, imp) for module, imp in scored if imp is not None]
    everything = torch.cat([imp for _, imp in scored])
    count = round(ratio * len(everything))
    if count == 0:
        return {}
    threshold = torch.kthvalue(everything, count).values
    return {
        module: min(float((imp <= threshold).float().mean()), config.max_layer_ratio)
        for module, imp in scored
    }


def width_ratios(model: nn.Module, widths: dict[str, int]) -> dict[nn.Module, float]:
    """Per-conv pruning ratios that leave each named conv (or its block's first conv) ``width`` outputs."""
    import torch

    ratios: dict[nn.Module, float] = {}
    for name, width in widths.items():
        try:
            module = model.get_submodule(name)
        except AttributeError:
            raise ValueError(f"bn_prune layer_widths: the model has no module {name!r}") from None
        conv = next((m for m in module.modules() if isinstance(m, torch.nn.Conv2d)), None)
        if conv is None or not 0 < width <= conv.out_channels:
            have = "no convolution" if conv is None else f"{conv.out_channels} output channels"
            raise ValueError(f"bn_prune layer_widths: {name} has {have}; cannot keep {width}")
        ratios[conv] = 1 - width / conv.out_channels
    return ratios


def _pruner(model: nn.Module, config: BNPruneConfig, ratio: float, example: Any) -> Any:
    """A one-step pruner removing ``ratio`` of the channels by the configured criterion."""
    widths = width_ratios(model, config.layer_widths)
    if config.criterion == "uniform" and not widths:
        return _meta_pruner(model, config, example, pruning_ratio=ratio)
    ratios = {} if config.criterion == "uniform" else global_layer_ratios(model, config, ratio, example)
    ratios.update(widths)
    pruning_ratio = ratio if config.criterion == "uniform" else 0.0
    return _meta_pruner(model, config, example, pruning_ratio=pruning_ratio, pruning_ratio_dict=ratios)


def _ratio_for_target(model: nn.Module, config: BNPruneConfig, example: Any, before: tuple) -> tuple:
    """Bisect the channel ratio whose pruned copy removes ``config.ratio`` of the params or FLOPs."""
    import torch_pruning as tp

    goal = (1 - config.ratio) * (before[0] if config.target == "params" else before[1])
    low, high = 0.0, config.max_layer_ratio
    for _ in range(config.steps):
        mid = (low + high) / 2
        trial = copy.deepcopy(model)
        _pruner(trial, config, mid, example).step()
        macs, params = tp.utils.count_ops_and_params(trial, example)
        low, high = (low, mid) if (params if config.target == "params" else macs) <= goal else (mid, high)
    return high, config.steps


def _channel_ratio(model: nn.Module, config: BNPruneConfig) -> float:
    if config.criterion == "threshold":
        below = fraction_below(model, config.threshold or 0.0, head_output_layers(model))
        return min(below, config.max_layer_ratio)
    return config.ratio


def plan_for_settings(model: nn.Module, settings: dict[str, Any], imgsz: int) -> dict[str, Any]:
    """:func:`pruning_plan` for ``bn_prune`` settings given as a dict (what sparsity training carries)."""
    return pruning_plan(model, BNPruneConfig(**settings), imgsz)


def pruning_plan(model: nn.Module, config: BNPruneConfig, imgsz: int) -> dict[str, Any]:
    """The BatchNorm channels one pruning step at ``config`` would remove, by module name (none pruned).

    ``model`` must already be split-free (:func:`make_prunable`) so the names match its own. Used by
    mask-aware sparsity training to penalise exactly the channels the ``bn_prune`` stage will take.
    """
    import torch

    model = copy.deepcopy(model).float().cpu().eval()
    for param in model.parameters():
        param.requires_grad_(True)
    names = {id(module): name for name, module in model.named_modules()}
    example = torch.zeros(1, 3, imgsz, imgsz)
    ratio = _channel_ratio(model, config)
    if config.target != "channels":  # the same channel ratio the prune itself will bisect to
        import torch_pruning as tp

        macs, params = tp.utils.count_ops_and_params(model, example)
        ratio, _ = _ratio_for_target(model, config, example, (params, macs))
    config = config.model_copy(update={"target": "channels", "ratio": ratio})
    pruner = _pruner(model, config, config.ratio, example)
    plan: dict[str, set[int]] = {}
    for group in pruner.step(interactive=True):
        for dep, idxs in group:
            layer = dep.target.module
            if isinstance(layer, torch.nn.BatchNorm2d):
                plan.setdefault(names[id(layer)], set()).update(int(getattr(i, "idx", i)) for i in idxs)
    return {name: torch.tensor(sorted(idxs), dtype=torch.long) for name, idxs in plan.items()}


def removed_gamma_summary(removed: list[Any], total_mass: float) -> dict[str, float]:
    """How much BatchNorm scale a prune took: the largest removed |γ| and the removed share of all |γ|.

    A sparsity-trained model prunes cleanly when what it removes is near zero; a removed |γ| of the
    order of the kept ones (e.g. a uniform ratio forced onto the stem) means the cut removes signal
    and the pruned model starts its recovery from little better than random.
    """
    import torch

    values = torch.cat(removed) if removed else torch.zeros(1)
    return {
        "gamma_removed_max": float(values.max()),
        "gamma_mass_removed": float(values.sum()) / total_mass if total_mass else 0.0,
    }


def _pruning_step(pruner: Any, head_means: dict[int, Any]) -> list[Any]:
    """One pruner step; the head output convs' removed inputs are first folded into their biases.

    Returns the |γ| of every removed BatchNorm channel.
    """
    import torch

    from edgecompress.models.batchnorm_statistics import fold_removed_inputs_into_bias

    removed_gammas: list[Any] = []
    for group in pruner.step(interactive=True):
        for dep, idxs in group:
            layer = dep.target.module
            removed = [int(getattr(i, "idx", i)) for i in idxs]
            if id(layer) in head_means and removed:
                head_means[id(layer)] = fold_removed_inputs_into_bias(layer, removed, head_means[id(layer)])
            if isinstance(layer, torch.nn.BatchNorm2d) and removed:
                removed_gammas.append(layer.weight.detach()[removed].abs().float().cpu())
        group.prune()
    return removed_gammas


def prune_by_bn_scale(
    model: nn.Module, config: BNPruneConfig, imgsz: int, batches: list[Any] | None = None
) -> tuple[nn.Module, dict[str, Any]]:
    """Return a pruned copy of ``model`` (made split-free first) and what was done.

    With ``batches`` (letterboxed images), the statistics the pruning shifts are repaired: removed
    inputs of the head's output convs go into their biases, then every BatchNorm is recalibrated.
    """
    import torch
    import torch_pruning as tp

    from edgecompress.models.batchnorm_statistics import input_channel_means, recalibrate_batchnorm
    from edgecompress.models.yolo_modules import make_prunable

    model = copy.deepcopy(model).float().eval()
    make_prunable(model)
    head_convs = [m for m in head_output_layers(model) if isinstance(m, torch.nn.Conv2d)]
    head_means = input_channel_means(head_convs, model, batches) if batches else {}
    for param in model.parameters():
        param.requires_grad_(True)
    example = torch.zeros(1, 3, imgsz, imgsz)
    macs0, params0 = tp.utils.count_ops_and_params(model, example)
    ratio, steps = _channel_ratio(model, config), 1
    if config.target != "channels":
        ratio, steps = _ratio_for_target(model, config, example, (params0, macs0))
    ignored = {id(p) for m in head_output_layers(model) for p in m.parameters()}
    gamma_mass = sum(
        float(m.weight.detach().abs().sum())
        for m in model.modules()
        if isinstance(m, torch.nn.BatchNorm2d) and id(m.weight) not in ignored
    )
    pruner = _pruner(model, config, ratio, example)
    with bounded_search(config.search_seconds, config.search_memory_gb, "torch-pruning's pruning step"):
        removed_gammas = _pruning_step(pruner, head_means)
    macs, params = tp.utils.count_ops_and_params(model, example)
    for param in model.parameters():
        param.requires_grad_(False)
    recalibrated = recalibrate_batchnorm(model, batches) if batches else 0
    details = {
        "params_before": int(params0),
        "params_after": int(params),
        "gflops_before": 2 * macs0 / 1e9,
        "gflops_after": 2 * macs / 1e9,
        "steps": steps,
        "channel_ratio": ratio,
        "criterion": config.criterion,
        "target": config.target,
        "round_to": config.round_to,
        "recalibrated_on": recalibrated,
        **removed_gamma_summary(removed_gammas, gamma_mass),
    }
    return model, details


class BNPrunePass(Pass):
    """Structured channel pruning by BatchNorm scale (recipe key ``bn_prune``)."""

    name = "bn_prune"
    Config = BNPruneConfig
    reads_train = "images"  # to re-estimate BatchNorm statistics

    def train_split_use(self) -> str:
        """Train images, unless recalibration is off."""
        assert isinstance(self.config, BNPruneConfig)
        return self.reads_train if self.config.recalibrate else ""

    def run(self, model: Any, ctx: PassContext) -> PassResult:
        """Prune ``model`` at the compile's image size."""
        from edgecompress.models.batchnorm_statistics import recalibration_batches

        config = self.config
        assert isinstance(config, BNPruneConfig)
        search: dict[str, Any] = {}
        if config.budget_ms is not None:
            from edgecompress.passes.latency_budget import search_ratio_for_budget

            settings = config

            def prune_at(ratio: float) -> tuple[Any, dict[str, Any]]:
                return prune_by_bn_scale(model, settings.model_copy(update={"ratio": ratio}), ctx.imgsz)

            search = search_ratio_for_budget(
                prune_at, config.budget_ms, config.max_layer_ratio, config.search_steps, ctx
            )
            config = config.model_copy(update={"ratio": search["chosen_ratio"]})
        count = config.recalibrate
        batches = recalibration_batches(ctx.data, ctx.imgsz, count) if count else None
        pruned, details = prune_by_bn_scale(model, config, ctx.imgsz, batches)
        return PassResult(pruned, {**details, **search})
