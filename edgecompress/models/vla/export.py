"""ONNX graphs of the reference VLA: the observation prefix and one denoising step (full or cached).

The denoising loop stays in Python (:mod:`edgecompress.runtime.policy`): it decides per step which
step graph runs, so feature caching works on any runtime.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import nn

from edgecompress.models.vla.network import ReferenceVLA

META_FILE = "policy.json"


class PrefixGraph(nn.Module):
    """images (B, 3, S, S) in [0, 1], text ids, state → projected context tokens."""

    def __init__(self, network: ReferenceVLA) -> None:
        super().__init__()
        self.network = network

    def forward(self, images: torch.Tensor, text_ids: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        return self.network.context(images, text_ids, state)


class FullStepGraph(nn.Module):
    """noisy chunk, time, context → velocity and the branch cache of every head block."""

    def __init__(self, network: ReferenceVLA) -> None:
        super().__init__()
        self.head = network.head

    def forward(
        self, noisy: torch.Tensor, t: torch.Tensor, context: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head.full_step(noisy, t, context)


class CachedStepGraph(nn.Module):
    """noisy chunk, time, branch cache → velocity (the head's blocks do not run)."""

    def __init__(self, network: ReferenceVLA) -> None:
        super().__init__()
        self.head = network.head

    def forward(self, noisy: torch.Tensor, t: torch.Tensor, cache: torch.Tensor) -> torch.Tensor:
        return self.head.cached_step(noisy, t, cache)


def _export(
    module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], opset: int
) -> Path:
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)  # the fused encoder/attention kernels have no ONNX form
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module.eval(),
                args,
                str(path),
                input_names=inputs,
                output_names=outputs,
                opset_version=opset,
                dynamo=False,
            )
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return path


def export_policy_onnx(network: ReferenceVLA, folder: Path, opset: int = 17) -> list[Path]:
    """Write ``prefix.onnx``, ``step_full.onnx``, ``step_cached.onnx`` (if caching) and ``policy.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = network.config
    network = network.eval()
    size, text = config.image_size, config.max_text_tokens
    observation = (
        torch.rand(1, 3, size, size),
        torch.ones(1, text, dtype=torch.long),
        torch.zeros(1, config.state_dim),
    )
    with torch.no_grad():
        context = network.context(*observation)
        noisy, t = torch.randn(1, config.horizon, config.action_dim), torch.ones(1)
        _, cache = network.head.full_step(noisy, t, context)
    files = [
        _export(
            PrefixGraph(network),
            observation,
            folder / "prefix.onnx",
            ["images", "text_ids", "state"],
            ["context"],
            opset,
        ),
        _export(
            FullStepGraph(network),
            (noisy, t, context),
            folder / "step_full.onnx",
            ["noisy", "t", "context"],
            ["velocity", "cache"],
            opset,
        ),
    ]
    if config.cache_interval > 1:
        files.append(
            _export(
                CachedStepGraph(network),
                (noisy, t, cache),
                folder / "step_cached.onnx",
                ["noisy", "t", "cache"],
                ["velocity"],
                opset,
            )
        )
    meta = {
        "image_size": size,
        "max_text_tokens": text,
        "vocab": config.vocab,
        "state_dim": config.state_dim,
        "action_dim": config.action_dim,
        "horizon": config.horizon,
        "denoise_steps": config.denoise_steps,
        "cache_interval": config.cache_interval,
        "action_mean": network.action_mean.tolist(),
        "action_std": network.action_std.tolist(),
    }
    (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return [*files, folder / META_FILE]
