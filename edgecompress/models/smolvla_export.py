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
STEP_INPUTS = ["x_t", "timestep", "keys", "values", "prefix_pad"]


class PrefixGraph(nn.Module):
    """task tokens, mask, state, one image per camera → stacked keys, values and the prefix pad mask."""

    def __init__(self, adapter: PolicyView) -> None:
        super().__init__()
        self.policy, self.cameras = adapter.policy, adapter.cameras()

    def forward(
        self, lang_tokens: torch.Tensor, lang_masks: torch.Tensor, state: torch.Tensor, *images: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        from lerobot.policies.smolvla.modeling_smolvla import make_att_2d_masks

        batch: dict[str, torch.Tensor] = dict(zip(self.cameras, images, strict=True))
        batch["observation.state"] = state
        images_, image_masks = self.policy.prepare_images(batch)
        model = self.policy.model
        embeddings, pad, att = model.embed_prefix(
            images_, image_masks, lang_tokens, lang_masks, state=self.policy.prepare_state(batch)
        )
        _, cache = model.vlm_with_expert.forward(
            attention_mask=make_att_2d_masks(pad, att),
            position_ids=torch.cumsum(pad, dim=1) - 1,
            past_key_values=None,
            inputs_embeds=[embeddings, None],
            use_cache=True,
            fill_kv_cache=True,
        )
        keys = [cache[i]["key_states"] for i in sorted(cache)]
        values = [cache[i]["value_states"] for i in sorted(cache)]
        for i in cross_layers(self.policy):  # what the expert's cross layers would project every step
            attention = model.vlm_with_expert.lm_expert.layers[i].self_attn
            keys[i] = _project(attention.k_proj, keys[i], attention.head_dim)
            values[i] = _project(attention.v_proj, values[i], attention.head_dim)
        return torch.stack(keys), torch.stack(values), pad


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
    """noisy chunk x_t, time, the prefix's keys, values and pad mask → velocity (one Euler step's).

    Run (traced, counted) inside :func:`cross_kv_in_prefix`: the cross layers' keys/values arrive projected.
    """

    def __init__(self, adapter: PolicyView) -> None:
        super().__init__()
        self.model = adapter.policy.model

    def forward(
        self,
        x_t: torch.Tensor,
        timestep: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        prefix_pad: torch.Tensor,
    ) -> torch.Tensor:
        cache = {i: {"key_states": keys[i], "value_states": values[i]} for i in range(keys.shape[0])}
        return self.model.denoise_step(prefix_pad, cache, x_t, timestep)


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
        keys, values, pad = PrefixGraph(adapter).eval()(*prefix)
    step = (torch.from_numpy(chunk_noise(meta)), torch.ones(1), keys, values, pad)
    return prefix, step


def _export(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str]) -> Path:
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
    program.save(str(path), external_data=False)  # one file (< 2 GB for SmolVLA-450M)
    return path


def export_smolvla_onnx(adapter: PolicyView, folder: Path) -> list[Path]:
    """Write ``prefix.onnx``, ``step.onnx`` and ``smolvla.json`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = adapter.meta()
    prefix_args, step_args = example_inputs(adapter)
    images = [f"image{i}" for i in range(len(meta["cameras"]))]
    files = [
        _export(
            PrefixGraph(adapter),
            prefix_args,
            folder / "prefix.onnx",
            [*PREFIX_INPUTS, *images],
            ["keys", "values", "prefix_pad"],
        ),
    ]
    with cross_kv_in_prefix(adapter.policy):
        files.append(_export(StepGraph(adapter), step_args, folder / "step.onnx", STEP_INPUTS, ["velocity"]))
    (folder / META_FILE).write_text(json.dumps({**meta, "images": images}, indent=2) + "\n")
    return [*files, folder / META_FILE]
