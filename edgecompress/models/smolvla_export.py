"""ONNX graphs of SmolVLA: the prefix (cameras + task + state → the VLM's KV cache) and one denoising step.

Both wrap LeRobot's own functions (``prepare_images``, ``embed_prefix``, ``denoise_step``), so the graphs
compute what ``predict_action_chunk`` computes; the Euler loop over the steps stays in Python
(:mod:`edgecompress.runtime.smolvla`). The KV cache, a dict per layer in LeRobot, crosses the graph
boundary as two stacked tensors (layers, B, prefix, kv heads, head dim).

Export problems solved here: the TorchScript exporter writes an invalid vision graph (the position ids
of ``SmolVLMVisionEmbeddings``, built with ``bucketize``, reach a Gather as float), so the graphs are
exported with ``torch.export`` (``dynamo=True``); the language is fixed at ``tokenizer_max_length``
tokens (padding is masked, so shorter tasks are padded by the runtime).

One exact rewrite: LeRobot's cross-attention expert layers project the VLM layer's cached keys and
values (``k_proj``/``v_proj``) at every denoising step, though the cache does not change between steps.
The prefix graph applies those projections once and hands the projected keys/values to the step
graph, whose cross layers then take them as they are (:func:`cross_kv_in_prefix`).

Where ``token_prune`` or ``feature_cache`` changed the loop (:mod:`edgecompress.models.smolvla_loop`),
the graphs run the package's loop: the prefix hands over two caches (the layers before and after the
cut, of different lengths), and a second step graph (``step_cached``) runs the steps that reuse the
last full step's branch outputs, so the saving is in the lowered graphs, not only in the FLOP count.
With ``lower.denoising_loop: graph`` those graphs are stitched into one ``chunk.onnx`` that also holds
the Euler loop (:mod:`edgecompress.models.smolvla_unroll`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from edgecompress.models.smolvla_observation import (
    META_FILE,
    Observation,
    PolicyView,
    chunk_noise,
    random_observations,
)

PREFIX_INPUTS = ["lang_tokens", "lang_masks", "state"]
DENOISING_LOOPS = ("python", "graph")  # the Euler loop in the runtime, or unrolled in one graph


class PrefixGraph(nn.Module):
    """task tokens, mask, state, one image per camera → stacked keys, values and the prefix pad mask.

    With token pruning after layer K, ``keys``/``values`` hold layers 1..K (the whole prefix) and three
    more outputs the layers after the cut: ``keys_pruned``, ``values_pruned`` (the kept tokens) and
    ``kept_pad`` (:func:`prefix_outputs`).
    """

    def __init__(self, adapter: PolicyView) -> None:
        super().__init__()
        self.policy, self.cameras = adapter.policy, adapter.cameras()
        self.pruning = adapter.loop.token_pruning

    def forward(
        self, lang_tokens: torch.Tensor, lang_masks: torch.Tensor, state: torch.Tensor, *images: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        from edgecompress.models.smolvla_loop import prefix_cache

        batch: dict[str, torch.Tensor] = dict(zip(self.cameras, images, strict=True))
        batch["observation.state"] = state
        images_, image_masks = self.policy.prepare_images(batch)
        state_ = self.policy.prepare_state(batch)
        prefix = prefix_cache(
            self.policy, images_, image_masks, lang_tokens, lang_masks, state_, self.pruning
        )
        cache = prefix.cache
        keys = [cache[i]["key_states"] for i in sorted(cache)]
        values = [cache[i]["value_states"] for i in sorted(cache)]
        expert = self.policy.model.vlm_with_expert.lm_expert
        for i in cross_layers(self.policy):  # what the expert's cross layers would project every step
            attention = expert.layers[i].self_attn
            keys[i] = _project(attention.k_proj, keys[i], attention.head_dim)
            values[i] = _project(attention.v_proj, values[i], attention.head_dim)
        cut = self.pruning.after_layer if self.pruning is not None else len(keys)
        outputs = (torch.stack(keys[:cut]), torch.stack(values[:cut]), prefix.prefix_pad)
        if self.pruning is not None:
            outputs += (torch.stack(keys[cut:]), torch.stack(values[cut:]), prefix.pads[cut])
        return outputs


def prefix_outputs(adapter: PolicyView) -> list[str]:
    """Names of the prefix graph's outputs (the step graphs take them all as inputs)."""
    pruned = ["keys_pruned", "values_pruned", "kept_pad"] if adapter.loop.token_pruning else []
    return ["keys", "values", "prefix_pad", *pruned]


def _project(linear: nn.Module, states: torch.Tensor, head_dim: int) -> torch.Tensor:
    """``linear`` over the heads of (B, L, heads, head_dim) states, as LeRobot's cross layer does."""
    return linear(states.reshape(*states.shape[:2], -1)).view(*states.shape[:2], -1, head_dim)


def cross_layers(policy: Any) -> list[int]:
    """The expert layers that cross-attend to their VLM layer's cache (one expert layer per VLM layer)."""
    model = policy.model.vlm_with_expert
    if "cross" not in model.attention_mode or model.num_expert_layers != model.num_vlm_layers:
        return []
    every = model.self_attn_every_n_layers
    return [i for i in range(model.num_expert_layers) if not (every > 0 and i % every == 0)]


class _AlreadyProjected(nn.Identity):
    """Stands in for a cross layer's k_proj/v_proj; keeps the ``weight`` whose dtype LeRobot reads."""

    def __init__(self, linear: nn.Module) -> None:
        super().__init__()
        self.register_buffer("weight", torch.empty(0, dtype=linear.weight.dtype), persistent=False)


@contextmanager
def cross_kv_in_prefix(policy: Any) -> Iterator[None]:
    """While open, the cross layers' ``k_proj``/``v_proj`` are identities: the step graph is traced (and
    counted) taking the keys and values :class:`PrefixGraph` already projected."""
    attentions = [policy.model.vlm_with_expert.lm_expert.layers[i].self_attn for i in cross_layers(policy)]
    saved = [(a.k_proj, a.v_proj) for a in attentions]
    for attention in attentions:
        attention.k_proj = _AlreadyProjected(attention.k_proj)
        attention.v_proj = _AlreadyProjected(attention.v_proj)
    try:
        yield
    finally:
        for attention, (k_proj, v_proj) in zip(attentions, saved, strict=True):
            attention.k_proj, attention.v_proj = k_proj, v_proj


class StepGraph(nn.Module):
    """noisy chunk x_t, time, the prefix graph's outputs → velocity (one Euler step's).

    Run (traced, counted) inside :func:`cross_kv_in_prefix`: the cross layers' keys/values arrive projected.
    With feature caching, the full step also returns the branch outputs the cached steps reuse
    (``features``), and the ``cached`` variant takes them as its last input.
    """

    def __init__(self, adapter: PolicyView, cached: bool = False) -> None:
        super().__init__()
        self.policy, self.loop, self.cached = adapter.policy, adapter.loop, cached

    def forward(
        self,
        x_t: torch.Tensor,
        timestep: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        prefix_pad: torch.Tensor,
        *rest: torch.Tensor,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        from edgecompress.models.smolvla_loop import PrefixCache, velocity

        layers = [(k, v, prefix_pad) for k, v in zip(keys, values, strict=True)]
        if self.loop.token_pruning is not None:
            pruned_keys, pruned_values, kept_pad, *rest_ = rest
            layers += [(k, v, kept_pad) for k, v in zip(pruned_keys, pruned_values, strict=True)]
            rest = tuple(rest_)
        cache = {i: {"key_states": k, "value_states": v} for i, (k, v, _) in enumerate(layers)}
        if not self.loop.changed:
            return self.policy.model.denoise_step(prefix_pad, cache, x_t, timestep)
        prefix = PrefixCache(cache, [pad for _, _, pad in layers], prefix_pad)
        reuse = rest[0] if self.cached else None
        result, features = velocity(self.policy, x_t, timestep, prefix, self.loop.feature_cache, reuse)
        return result if features is None else (result, features)


def step_names(adapter: PolicyView, cached: bool) -> tuple[list[str], list[str]]:
    """Input and output names of the full (``cached=False``) or cached step graph."""
    inputs = ["x_t", "timestep", *prefix_outputs(adapter)]
    if cached:
        return [*inputs, "features"], ["velocity"]
    return inputs, ["velocity", "features"] if adapter.loop.feature_cache else ["velocity"]


def prefix_inputs(adapter: PolicyView, observation: Observation) -> tuple[torch.Tensor, ...]:
    """The prefix graph's inputs for ``observation`` (task padded to the graph's length)."""
    from edgecompress.models.smolvla_observation import pad_language

    tokens, mask = pad_language(observation.tokens, observation.mask, adapter.meta()["lang_length"])
    arrays = (tokens, mask, observation.state, *observation.images)
    return tuple(torch.from_numpy(a) for a in arrays)


def example_inputs(adapter: PolicyView) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """Seeded example inputs of the prefix and the step graph."""
    meta = adapter.meta()
    prefix = prefix_inputs(adapter, random_observations(meta, 1)[0])
    with torch.no_grad():
        outputs = PrefixGraph(adapter).eval()(*prefix)
    return prefix, (torch.from_numpy(chunk_noise(meta)), torch.ones(1), *outputs)


def example_features(adapter: PolicyView, step: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The branch outputs a full step hands to the cached steps, for the example ``step`` inputs."""
    with torch.no_grad(), cross_kv_in_prefix(adapter.policy):
        return StepGraph(adapter).eval()(*step)[1]


def _export(
    module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], external: bool = False
) -> Path:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module.eval(),
            args,
            input_names=inputs,
            output_names=outputs,
            opset_version=18,
            dynamo=True,
            verbose=False,
        )
    assert program is not None
    program.save(str(path), external_data=external)  # one file (< 2 GB for SmolVLA-450M) unless external
    return path


def export_smolvla_onnx(adapter: PolicyView, folder: Path, loop: str = "graph") -> list[Path]:
    """Write the graphs and ``smolvla.json`` into ``folder``: with ``loop`` "python", ``prefix.onnx`` and
    ``step.onnx`` (and ``step_cached.onnx`` with feature caching) for the runtime's Euler loop; with
    "graph" (``lower.denoising_loop``'s default) those stitched into ``chunk.onnx``
    (:mod:`edgecompress.models.smolvla_unroll`), whose weights stay in the exported graphs' external
    files under ``parts/``."""
    from edgecompress.models.smolvla_settings import cache_schedule
    from edgecompress.models.smolvla_unroll import write_chunk_onnx

    if loop not in DENOISING_LOOPS:
        raise ValueError(f"denoising loop {loop!r}: expected one of {', '.join(DENOISING_LOOPS)}")
    folder.mkdir(parents=True, exist_ok=True)
    meta = adapter.meta()
    parts, external = (folder / "parts", True) if loop == "graph" else (folder, False)
    parts.mkdir(exist_ok=True)
    prefix_args, step_args = example_inputs(adapter)
    images = [f"image{i}" for i in range(len(meta["cameras"]))]
    outputs = prefix_outputs(adapter)
    files = [
        _export(
            PrefixGraph(adapter),
            prefix_args,
            parts / "prefix.onnx",
            [*PREFIX_INPUTS, *images],
            outputs,
            external,
        )
    ]
    with cross_kv_in_prefix(adapter.policy):
        files.append(
            _export(StepGraph(adapter), step_args, parts / "step.onnx", *step_names(adapter, False), external)
        )
        cache = adapter.loop.feature_cache
        if cache is not None:  # the steps in between: the chosen layers' branches come from the full step
            cached_args = (*step_args, example_features(adapter, step_args))
            names = step_names(adapter, True)
            files.append(
                _export(StepGraph(adapter, True), cached_args, parts / "step_cached.onnx", *names, external)
            )
    interval = cache.interval if cache else 1
    if loop == "graph":
        schedule = cache_schedule(int(meta["num_steps"]), interval)
        files = [write_chunk_onnx(parts, schedule, int(meta["action_dim"]), folder / "chunk.onnx")]
    settings = {"loop": loop, "prefix_outputs": outputs, "cache_interval": interval}
    (folder / META_FILE).write_text(json.dumps({**meta, **settings, "images": images}, indent=2) + "\n")
    return [*files, folder / META_FILE]
