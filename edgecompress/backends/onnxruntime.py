"""ONNX Runtime backend: the portable FP32 fallback (CPU execution provider)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from edgecompress.backends.base import AccuracyGuard, Backend, Graph, Lowered, QuantizationChoice, Runtime
from edgecompress.config.target import TargetProfile


def copy_onnx(source: Path, target: Path) -> list[Path]:
    """Copy an ONNX model; weights it keeps in external files go to one file beside the copy
    (``<target>.data``). Returns the files written."""
    import onnx
    from onnx.external_data_helper import uses_external_data

    graph = onnx.load(str(source), load_external_data=False).graph
    if not any(uses_external_data(tensor) for tensor in graph.initializer):
        shutil.copyfile(source, target)
        return [target]
    data = target.with_name(f"{target.name}.data")
    onnx.save_model(onnx.load(str(source)), str(target), save_as_external_data=True, location=data.name)
    return [target, data]


class OnnxRuntimeRuntime(Runtime):
    """An ONNX Runtime inference session."""

    name = "onnxruntime"

    def __init__(self, session: Any, precision: str) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self.precision = precision
        self.executed_precision = "f32"  # the CPU kernels run float ops in fp32

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: batch})[0]

    @property
    def version(self) -> str:
        import onnxruntime

        return onnxruntime.__version__


class OnnxRuntimeBackend(Backend):
    """Ships the simplified FP32 ONNX model and runs it with ONNX Runtime."""

    name = "onnxruntime"
    install_hint = "pip install onnxruntime"

    def available(self) -> str | None:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return "onnxruntime is not installed (pip install onnxruntime)"
        return None

    def lower(
        self,
        onnx_path: Path,
        out_dir: Path,
        profile: TargetProfile,
        precision: str,
        calibration: list[np.ndarray] | None = None,
        guard: AccuracyGuard | None = None,
        stem: str = "model",
        choice: QuantizationChoice | None = None,
    ) -> Lowered:
        if guard is not None:
            raise ValueError(f"the {self.name} backend has no accuracy-controlled quantization")
        if precision != "fp32":
            raise ValueError(f"onnxruntime backend offers fp32 only, not {precision}")
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{stem}.onnx"
        return Lowered(target, copy_onnx(onnx_path, target), {})

    def load(self, model_file: Path, profile: TargetProfile, precision: str) -> Runtime:
        return OnnxRuntimeRuntime(cpu_session(model_file, profile.threads), precision)

    def load_graph(self, model_file: Path, profile: TargetProfile, precision: str) -> Graph:
        session = cpu_session(model_file, profile.threads)
        names = {port.name for port in session.get_inputs()}

        def run(inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
            return list(session.run(None, {k: v for k, v in inputs.items() if k in names}))

        return run


def cpu_session(model_file: Path, threads: int | None) -> Any:
    """An ONNX Runtime CPU session with ``threads`` intra-op threads (None: its default)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
