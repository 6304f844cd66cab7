"""Deploy-time SmolVLA runtime: the prefix graph once, then the Euler loop over the step graph (or,
lowered with ``lower.denoising_loop: graph``, the chunk graph that holds both, in one call).

The same loop as LeRobot's ``VLAFlowMatching.sample_actions`` (time from 1 to 0 in ``num_steps``
steps, ``x += dt * v`` with ``dt = -1/num_steps``), over graphs compiled by OpenVINO or ONNX Runtime;
with feature caching, the steps between full ones run ``step_cached`` on the last full step's
branch outputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgecompress.backends.base import Graph
from edgecompress.models.smolvla_observation import Observation, graph_meta, pad_language
from edgecompress.models.smolvla_settings import cache_schedule

if TYPE_CHECKING:
    from edgecompress.config.target import TargetProfile

GRAPHS = ("chunk", "prefix", "step", "step_cached")  # chunk: the loop in one graph; step_cached: caching
PREFIX_OUTPUTS = ["keys", "values", "prefix_pad"]  # more with token pruning (smolvla.json says which)


class SmolVLARuntime:
    """``runtime(observation, noise) -> actions (B, chunk_size, action_dim)`` on lowered SmolVLA graphs."""

    def __init__(self, graphs: dict[str, Graph], meta: dict[str, Any], name: str, version: str) -> None:
        self.graphs, self.meta, self.name, self.version = graphs, meta, name, version

    def __call__(self, observation: Observation, noise: np.ndarray) -> np.ndarray:
        meta = self.meta
        tokens, mask = pad_language(observation.tokens, observation.mask, int(meta["lang_length"]))
        feeds = {"lang_tokens": tokens, "lang_masks": mask, "state": observation.state.astype(np.float32)}
        if len(observation.images) != len(meta["images"]):
            count = len(observation.images)
            raise ValueError(f"the policy takes {len(meta['images'])} camera images, got {count}")
        cameras = zip(meta["images"], observation.images, strict=True)
        feeds.update({name: image.astype(np.float32) for name, image in cameras})
        if "chunk" in self.graphs:  # lower.denoising_loop graph: the prefix and every step in one call
            (actions,) = self.graphs["chunk"]({**feeds, "noise": noise.astype(np.float32)})
            return actions
        names = meta.get("prefix_outputs", PREFIX_OUTPUTS)
        prefix = dict(zip(names, self.graphs["prefix"](feeds), strict=True))
        steps = int(meta["num_steps"])
        dt = -1.0 / steps
        x, features = noise.astype(np.float32), np.zeros(0, np.float32)
        for step, full in enumerate(cache_schedule(steps, int(meta.get("cache_interval", 1)))):
            time = np.full((x.shape[0],), 1.0 + step * dt, dtype=np.float32)
            inputs = {"x_t": x, "timestep": time, **prefix}
            if full:
                velocity, *cached = self.graphs["step"](inputs)
                features = cached[0] if cached else features
            else:  # reuse the last full step's branch outputs (feature_cache)
                (velocity,) = self.graphs["step_cached"]({**inputs, "features": features})
            x = (x + dt * velocity).astype(np.float32)
        return x[:, :, : int(meta["action_dim"])]


def load_smolvla_runtime(folder: Path, profile: TargetProfile) -> SmolVLARuntime:
    """Load the graphs in ``folder`` (``smolvla.json``, ``prefix``/``step`` as the backend lowered them)."""
    from edgecompress.backends import get_backend
    from edgecompress.runtime.policy import runtime_version

    backend = get_backend(profile.backend)
    suffix = {"openvino": ".xml", "onnxruntime": ".onnx"}.get(backend.name)
    if suffix is None:
        raise ValueError(f"SmolVLA lowers to OpenVINO or ONNX Runtime, not {backend.name}")
    files = {name: folder / f"{name}{suffix}" for name in GRAPHS}
    graphs = {
        name: backend.load_graph(path, profile, "fp32") for name, path in files.items() if path.exists()
    }
    return SmolVLARuntime(graphs, graph_meta(folder), backend.name, runtime_version(backend.name))


def load_smolvla_artifact(directory: Path, manifest: Any) -> SmolVLARuntime:
    """The runtime of a verified SmolVLA artifact (``edgecompress.load`` calls this)."""
    from edgecompress.artifact import artifact_target

    return load_smolvla_runtime((directory / manifest.model_file).parent, artifact_target(directory))
