"""Deploy-time policy runtime: the prefix graph once, then the denoising loop over step graphs.

The same Euler loop and caching schedule as :func:`edgecompress.models.vla.head.sample_actions`,
over graphs compiled by OpenVINO or ONNX Runtime.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgecompress.backends.base import Graph
from edgecompress.models.vla.head import full_steps

if TYPE_CHECKING:
    from edgecompress.config.target import TargetProfile

GRAPHS = ("prefix", "step_full", "step_cached")


class PolicyRuntime:
    """``predict(images uint8 (B,S,S,3), text ids, states, noise) -> actions`` on a lowered policy."""

    def __init__(self, graphs: dict[str, Graph], meta: dict[str, Any], name: str, version: str) -> None:
        self.graphs, self.meta, self.name, self.version = graphs, meta, name, version
        self.schedule = full_steps(int(meta["denoise_steps"]), int(meta["cache_interval"]))
        self.action_mean = np.asarray(meta["action_mean"], dtype=np.float32)
        self.action_std = np.asarray(meta["action_std"], dtype=np.float32)

    def predict(
        self,
        image: np.ndarray,
        instruction: str,
        state: np.ndarray,
        noise: np.ndarray | None = None,
        seed: int = 0,
    ) -> np.ndarray:
        """Action chunk (horizon, action_dim) for one observation: RGB uint8 image, instruction, state."""
        from edgecompress.models.vla.config import tokenize

        meta = self.meta
        size = int(meta["image_size"])
        if image.shape != (size, size, 3) or image.dtype != np.uint8:
            raise ValueError(
                f"the policy takes uint8 RGB images of {size}x{size}x3, got {image.dtype} {image.shape}"
            )
        text = np.asarray(
            [tokenize(instruction, meta["vocab"], int(meta["max_text_tokens"]))], dtype=np.int64
        )
        if noise is None:
            shape = (1, int(meta["horizon"]), int(meta["action_dim"]))
            noise = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
        return self(image[None], text, np.asarray(state, dtype=np.float32)[None], noise)[0]

    def __call__(
        self, images: np.ndarray, text: np.ndarray, states: np.ndarray, noise: np.ndarray
    ) -> np.ndarray:
        pixels = np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
        (context,) = self.graphs["prefix"](
            {"images": pixels, "text_ids": text.astype(np.int64), "state": states.astype(np.float32)}
        )
        x, dt, cache = noise.astype(np.float32), 1.0 / len(self.schedule), None
        for index, full in enumerate(self.schedule):
            t = np.full((x.shape[0],), 1.0 - index * dt, dtype=np.float32)
            if full or cache is None:
                velocity, cache = self.graphs["step_full"]({"noisy": x, "t": t, "context": context})
            else:
                (velocity,) = self.graphs["step_cached"]({"noisy": x, "t": t, "cache": cache})
            x = (x - dt * velocity).astype(np.float32)
        return x * self.action_std + self.action_mean


def load_policy_artifact(directory: Path, manifest: Any) -> PolicyRuntime:
    """The runtime of a verified policy artifact (``edgecompress.load`` calls this for policies)."""
    from edgecompress.artifact import artifact_target

    graphs = (directory / manifest.model_file).parent
    return load_policy_runtime(graphs, artifact_target(directory))


def load_policy_runtime(folder: Path, profile: TargetProfile) -> PolicyRuntime:
    """Load the graphs a policy was lowered to with the profile's backend, one graph at a time.

    ``folder`` holds ``policy.json`` and each graph as the backend lowered it (``prefix.xml`` for
    OpenVINO, ``prefix.onnx`` for ONNX Runtime); the graphs always run in fp32.
    """
    from edgecompress.backends import get_backend

    backend = get_backend(profile.backend)
    suffix = {"openvino": ".xml", "onnxruntime": ".onnx"}.get(backend.name)
    if suffix is None:
        raise ValueError(f"policies lower to OpenVINO or ONNX Runtime, not {backend.name}")
    meta = json.loads((folder / "policy.json").read_text())
    graphs: dict[str, Graph] = {
        name: backend.load_graph(folder / f"{name}{suffix}", profile, "fp32")
        for name in GRAPHS
        if (folder / f"{name}{suffix}").is_file()
    }
    return PolicyRuntime(graphs, meta, backend.name, runtime_version(backend.name))


def runtime_version(backend: str) -> str:
    """Version of the library behind ``backend`` (OpenVINO without its build suffix)."""
    if backend == "openvino":
        import openvino

        return openvino.__version__.split("-")[0]
    import onnxruntime

    return onnxruntime.__version__
