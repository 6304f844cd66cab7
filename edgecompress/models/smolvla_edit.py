"""Structural edits of a SmolVLA policy for the compression passes, and how they survive save/reload.

What is a removable layer, how redundant each one is, how it is removed, how MLPs are narrowed and
how the camera resolution is lowered: all of it is here, so the passes only call adapter methods.

- ``language`` stack: VLM decoder layer i and action-expert layer i form one unit (expert layer i
  reads VLM layer i's KV cache), and units are removed in groups of ``self_attn_every_n_layers``
  (an even self-attention layer and the cross-attention layer after it): ``SmolVLMWithExpertModel``
  picks self- or cross-attention by the new index, and even/odd expert layers have different
  ``k_proj``/``v_proj`` shapes. Redundancy is read from forward pre-hooks on each layer's
  ``input_layernorm`` and on the final ``norm`` (the decoder layers' own ``forward`` never runs).
- ``vision`` stack: the vision tower's encoder layers (their forward hooks fire normally).

A saved folder rebuilds the smaller model from ``config.json`` (``num_vlm_layers``,
``resize_imgs_with_padding``), the backbone config in ``vlm/config.json`` (vision layers) and
``compression.json`` (per-layer MLP widths, which no LeRobot config can express, and the loop
changes of ``token_prune`` / ``feature_cache``: :mod:`edgecompress.models.smolvla_loop`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from edgecompress.models.smolvla_observation import Observation, chunk_noise
from edgecompress.models.smolvla_settings import LoopSettings

STACKS = ("language", "vision")
COMPRESSION_FILE = "compression.json"  # per-layer MLP widths and the original indices of kept layers
COMPRESSION_FORMAT = "edgecompress-smolvla-compression/1"


def expert_model(policy: Any) -> Any:
    """``SmolVLMWithExpertModel`` of a ``SmolVLAPolicy``."""
    return policy.model.vlm_with_expert


def group_size(policy: Any) -> int:
    """Consecutive language layers removed together so that self/cross alternation stays as built."""
    model = expert_model(policy)
    if "cross" in model.attention_mode and model.self_attn_every_n_layers > 0:
        return int(model.self_attn_every_n_layers)
    return 1


def language_units(policy: Any) -> list[list[int]]:
    """The removable units of the language stack: groups of layer positions (VLM and expert alike)."""
    model, size = expert_model(policy), group_size(policy)
    if model.num_expert_layers != model.num_vlm_layers:
        raise ValueError(
            f"layer pruning needs as many expert as VLM layers ({model.num_expert_layers} vs "
            f"{model.num_vlm_layers}): an expert layer reads the KV cache of its VLM layer"
        )
    count = model.num_vlm_layers
    return [list(range(start, min(start + size, count))) for start in range(0, count, size)]


def vision_layers(policy: Any) -> nn.ModuleList:
    """The vision tower's encoder layers."""
    return expert_model(policy).get_vlm_model().vision_model.encoder.layers


def unit_count(policy: Any, stack: str) -> int:
    """How many removable units ``stack`` has now."""
    return len(language_units(policy)) if stack == "language" else len(vision_layers(policy))


class _Redundancy:
    """Running 1 − cosine(input, output) per position, over every token of every call."""

    def __init__(self, count: int) -> None:
        self.totals, self.counts = torch.zeros(count), torch.zeros(count)

    def add(self, index: int, before: torch.Tensor, after: torch.Tensor) -> None:
        similarity = nn.functional.cosine_similarity(before.float(), after.float(), dim=-1)
        self.totals[index] += similarity.sum()
        self.counts[index] += similarity.numel()

    def values(self) -> list[float]:
        return (1.0 - self.totals / self.counts.clamp_min(1)).tolist()


def _stream_hooks(layers: nn.ModuleList, norm: nn.Module, units: list[list[int]], score: _Redundancy) -> list:
    """Pre-hooks on each layer's ``input_layernorm`` and the final ``norm``: the residual stream at every
    layer boundary. A unit's redundancy compares the stream entering its first layer and leaving its last."""
    starts = {unit[0]: index for index, unit in enumerate(units)}
    ends = {unit[-1] + 1: index for index, unit in enumerate(units)}
    entered: dict[int, torch.Tensor] = {}

    def hook(position: int) -> Callable[..., None]:
        def record(module: nn.Module, args: tuple) -> None:
            hidden = args[0]
            if position in ends:
                score.add(ends[position], entered.pop(ends[position]), hidden)
            if position in starts:
                entered[starts[position]] = hidden.detach()

        return record

    modules = [layer.input_layernorm for layer in layers] + [norm]
    return [module.register_forward_pre_hook(hook(i)) for i, module in enumerate(modules)]


def language_redundancy(adapter: Any, observations: list[Observation]) -> list[float]:
    """1 − cosine of the residual stream entering and leaving each language unit, averaged over the VLM
    (the prefix pass) and the expert (every denoising step), all tokens, all ``observations``."""
    policy = adapter.policy
    model, units = expert_model(policy), language_units(policy)
    text = model.get_vlm_model().text_model
    vlm, expert = _Redundancy(len(units)), _Redundancy(len(units))
    handles = _stream_hooks(text.layers, text.norm, units, vlm)
    handles += _stream_hooks(model.lm_expert.layers, model.lm_expert.norm, units, expert)
    noise = torch.from_numpy(chunk_noise(adapter.meta()))
    try:
        with torch.no_grad():
            for observation in observations:
                policy.reset()
                policy.predict_action_chunk(adapter.batch(observation), noise=noise)
    finally:
        for handle in handles:
            handle.remove()
    return [(a + b) / 2 for a, b in zip(vlm.values(), expert.values(), strict=True)]


def vision_redundancy(adapter: Any, observations: list[Observation]) -> list[float]:
    """1 − cosine of each vision encoder layer's input and output, every patch of every camera image."""
    policy = adapter.policy
    layers = vision_layers(policy)
    score = _Redundancy(len(layers))

    def hook(index: int) -> Callable[..., None]:
        def record(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
            hidden = args[0] if args else kwargs["hidden_states"]
            score.add(index, hidden, output[0] if isinstance(output, tuple) else output)

        return record

    handles = [layer.register_forward_hook(hook(i), with_kwargs=True) for i, layer in enumerate(layers)]
    try:
        with torch.no_grad():
            for observation in observations:
                images, _ = policy.prepare_images(adapter.batch(observation))
                for image in images:
                    expert_model(policy).embed_image(image)
    finally:
        for handle in handles:
            handle.remove()
    return score.values()


def remove_language_units(policy: Any, indices: list[int]) -> list[int]:
    """Drop the language units at ``indices`` (VLM and expert layers alike); return the kept positions."""
    model, units = expert_model(policy), language_units(policy)
    dropped = {position for index in set(indices) for position in units[index]}
    keep = [i for i in range(model.num_vlm_layers) if i not in dropped]
    if not keep:
        raise ValueError("layer pruning would remove every language layer")
    text = model.get_vlm_model().text_model
    text.layers = nn.ModuleList(text.layers[i] for i in keep)
    model.lm_expert.layers = nn.ModuleList(model.lm_expert.layers[i] for i in keep)
    model.num_vlm_layers = model.num_expert_layers = len(keep)
    model.lm_expert.config.num_hidden_layers = len(keep)
    policy.config.num_vlm_layers = len(keep)
    if policy.config.num_expert_layers > 0:
        policy.config.num_expert_layers = len(keep)
    return keep


def remove_vision_layers(policy: Any, indices: list[int]) -> list[int]:
    """Drop the vision encoder layers at ``indices``; the backbone config records the new depth."""
    encoder = expert_model(policy).get_vlm_model().vision_model.encoder
    keep = [i for i in range(len(encoder.layers)) if i not in set(indices)]
    if not keep:
        raise ValueError("layer pruning would remove every vision layer")
    encoder.layers = nn.ModuleList(encoder.layers[i] for i in keep)
    for config in {id(c): c for c in (encoder.config, expert_model(policy).config.vision_config)}.values():
        config.num_hidden_layers = len(keep)
    return keep


def check_input_size(policy: Any, size: int) -> None:
    """ValueError unless ``size`` gives a patch grid the connector's pixel shuffle can fold."""
    config = expert_model(policy).config
    patch, scale = int(config.vision_config.patch_size), int(config.scale_factor)
    limit = int(config.vision_config.image_size)
    if size % patch or (size // patch) % scale:
        raise ValueError(
            f"size {size} gives a {size / patch:g}-patch grid; it must be a whole number of "
            f"{patch}-pixel patches divisible by the connector's scale factor {scale} "
            f"(a multiple of {patch * scale})"
        )
    if size > limit:
        raise ValueError(f"size {size} is above the vision tower's {limit} (its position table)")


def mlps(policy: Any) -> list[nn.Module]:
    """The Llama MLPs (gate, up, down) of the VLM layers, then of the expert layers."""
    model = expert_model(policy)
    layers = [*model.get_vlm_model().text_model.layers, *model.lm_expert.layers]
    return [layer.mlp for layer in layers]


def mlp_widths(policy: Any) -> dict[str, list[int]]:
    """The hidden width of every MLP: ``vlm`` and ``expert`` layers in order."""
    model = expert_model(policy)
    return {
        "vlm": [layer.mlp.gate_proj.out_features for layer in model.get_vlm_model().text_model.layers],
        "expert": [layer.mlp.gate_proj.out_features for layer in model.lm_expert.layers],
    }


def _resize_mlp(mlp: nn.Module, width: int) -> None:
    """New (uninitialised-by-training) gate/up/down Linears of hidden width ``width``; weights load later."""
    if mlp.gate_proj.out_features == width:
        return
    hidden, bias = mlp.gate_proj.in_features, mlp.gate_proj.bias is not None
    mlp.gate_proj = nn.Linear(hidden, width, bias=bias)
    mlp.up_proj = nn.Linear(hidden, width, bias=bias)
    mlp.down_proj = nn.Linear(width, hidden, bias=mlp.down_proj.bias is not None)
    mlp.intermediate_size = width


def built_widths(policy: Any) -> dict[str, list[int]]:
    """The MLP widths ``SmolVLAPolicy(config)`` builds for the policy's current layer counts."""
    model = expert_model(policy)
    count = model.num_vlm_layers
    return {
        "vlm": [int(model.config.text_config.intermediate_size)] * count,
        "expert": [int(model.lm_expert.config.intermediate_size)] * len(model.lm_expert.layers),
    }


def write_compression(policy: Any, folder: Path, kept: dict[str, list[int]], loop: LoopSettings) -> None:
    """``compression.json`` where the policy differs from what its configs build (MLP widths, kept layers)
    and what the passes changed in its loop (token pruning, feature caching)."""
    widths, path = mlp_widths(policy), folder / COMPRESSION_FILE
    record: dict[str, Any] = {}
    if widths != built_widths(policy):
        record["mlp_widths"] = widths
    if kept != default_kept(policy):
        record["kept_layers"] = kept
    record.update(loop.to_json())
    if record:
        path.write_text(json.dumps({"format": COMPRESSION_FORMAT, **record}, indent=2) + "\n")
    else:
        path.unlink(missing_ok=True)


def read_compression(folder: Path) -> dict[str, Any]:
    """The folder's ``compression.json`` ({} without one)."""
    path = folder / COMPRESSION_FILE
    if not path.is_file():
        return {}
    record = json.loads(path.read_text())
    if not isinstance(record, dict) or record.get("format") != COMPRESSION_FORMAT:
        raise ValueError(f"{path} is not an edgecompress SmolVLA compression record")
    return record


def apply_mlp_widths(policy: Any, widths: dict[str, list[int]]) -> None:
    """Rebuild each MLP at its recorded width (before the weights are loaded)."""
    if not widths:
        return
    modules = mlps(policy)
    flat = [*widths["vlm"], *widths["expert"]]
    if len(flat) != len(modules):
        raise ValueError(
            f"{COMPRESSION_FILE} records {len(flat)} MLP widths; the config builds {len(modules)}"
        )
    for mlp, width in zip(modules, flat, strict=True):
        _resize_mlp(mlp, int(width))


def default_kept(policy: Any) -> dict[str, list[int]]:
    """Every layer of both stacks, by its own index (a policy as built from its configs)."""
    return {
        "language": list(range(expert_model(policy).num_vlm_layers)),
        "vision": list(range(len(vision_layers(policy)))),
    }
