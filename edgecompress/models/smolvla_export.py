"""ONNX graphs of SmolVLA: the prefix (cameras + task + state → the VLM's KV cache) and one denoising step.

Both wrap LeRobot's own functions (``prepare_images``, ``embed_prefix``, ``denoise_step``), so the graphs
compute what ``predict_action_chunk`` computes; the Euler loop over the steps stays in Python
(:mod:`edgecompress.runtime.smolvla`). The KV cache, a dict per layer in LeRobot, crosses the graph
boundary as two stacked tensors (layers, B, prefix, kv heads, head dim).

Export problems solved here: the TorchScript exporter writes an invalid vision graph (the position ids
of ``SmolVLMVisionEmbeddings``, built with ``bucketize``, reach a Gather as float), so the graphs are
exported with ``torch.export`` (``dynamo=True``); the language is fixed at ``tokenizer_max_length``
tokens (padding is masked, so shorter tasks are padded by the runtime).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

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
        keys = torch.stack([cache[i]["key_states"] for i in sorted(cache)])
        values = torch.stack([cache[i]["value_states"] for i in sorted(cache)])
        return keys, values, pad


class StepGraph(nn.Module):
    """noisy chunk x_t, time, the prefix's keys, values and pad mask → velocity (one Euler step's)."""

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
        _export(StepGraph(adapter), step_args, folder / "step.onnx", STEP_INPUTS, ["velocity"]),
    ]
    (folder / META_FILE).write_text(json.dumps({**meta, "images": images}, indent=2) + "\n")
    return [*files, folder / META_FILE]
