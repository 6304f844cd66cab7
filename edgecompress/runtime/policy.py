"""Deploy-time policy runtime: the prefix graph once, then the denoising loop over step graphs.

The same Euler loop and caching schedule as :func:`edgecompress.models.vla.head.sample_actions`,
over graphs compiled by OpenVINO or ONNX Runtime.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgecompress.models.vla.head import full_steps

Graph = Callable[[dict[str, np.ndarray]], list[np.ndarray]]
GRAPHS = ("prefix", "step_full", "step_cached")


def openvino_graph(path: Path, device: str = "CPU", threads: int | None = None) -> Graph:
    """A compiled OpenVINO model as a function of named inputs (those the graph does not use are dropped)."""
    import openvino as ov

    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    compiled = ov.Core().compile_model(str(path), device, config)
    names = {name for port in compiled.inputs for name in port.get_names()}
    request = compiled.create_infer_request()

    def run(inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        result = request.infer({k: v for k, v in inputs.items() if k in names})
        return [np.asarray(value) for value in result.values()]

    return run


def onnxruntime_graph(path: Path, threads: int | None = None) -> Graph:
    """An ONNX Runtime CPU session as a function of named inputs."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = {port.name for port in session.get_inputs()}

    def run(inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        return list(session.run(None, {k: v for k, v in inputs.items() if k in names}))

    return run


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

    profile = artifact_target(directory)
    graphs = (directory / manifest.model_file).parent
    return load_policy_runtime(graphs, manifest.backend, profile.device, profile.threads)


def load_policy_runtime(
    folder: Path, backend: str, device: str = "CPU", threads: int | None = None
) -> PolicyRuntime:
    """Load the graphs a policy was lowered to (``*.xml`` for OpenVINO, ``*.onnx`` for ONNX Runtime)."""
    meta = json.loads((folder / "policy.json").read_text())
    graphs: dict[str, Graph] = {}
    for name in GRAPHS:
        if backend == "openvino" and (folder / f"{name}.xml").is_file():
            graphs[name] = openvino_graph(folder / f"{name}.xml", device, threads)
        elif backend == "onnxruntime" and (folder / f"{name}.onnx").is_file():
            graphs[name] = onnxruntime_graph(folder / f"{name}.onnx", threads)
    if backend == "openvino":
        import openvino

        version = openvino.__version__.split("-")[0]
    else:
        import onnxruntime

        version = onnxruntime.__version__
    return PolicyRuntime(graphs, meta, backend, version)
