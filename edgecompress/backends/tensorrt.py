"""TensorRT backend: engines are built on the device (Jetson or any CUDA machine) from the ONNX model."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from edgecompress.backends.base import AccuracyGuard, Backend, Lowered, QuantizationChoice, Runtime
from edgecompress.backends.tensorrt_build import (
    build_settings,
    installed_versions,
    trtexec_build_argv,
)
from edgecompress.backends.tensorrt_onnx import check_qdq_available, prepare_onnx
from edgecompress.config.target import TargetProfile


class TensorRTRuntime(Runtime):
    """A deserialized TensorRT engine with one input and one output, run through torch CUDA buffers."""

    name = "tensorrt"

    def __init__(self, engine: Any, precision: str) -> None:
        import torch

        self._engine = engine
        self._context = engine.create_execution_context()
        self._names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        self._buffers = {
            n: torch.empty(tuple(engine.get_tensor_shape(n)), dtype=torch.float32, device="cuda")
            for n in self._names
        }
        for name, buf in self._buffers.items():
            self._context.set_tensor_address(name, buf.data_ptr())
        self._stream = torch.cuda.Stream()
        self.precision = precision

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import torch

        self._buffers[self._names[0]].copy_(torch.from_numpy(batch))
        self._context.execute_async_v3(self._stream.cuda_stream)
        self._stream.synchronize()
        return self._buffers[self._names[-1]].cpu().numpy()

    @property
    def version(self) -> str:
        import tensorrt

        return tensorrt.__version__


class TensorRTBackend(Backend):
    """Builds a serialized engine (``model.engine``) with the TensorRT Python API."""

    name = "tensorrt"
    install_hint = (
        "compile here, `edgecompress lower` the artifact on the Jetson (CUDA: pip install tensorrt)"
    )
    builds_on_device = True

    def check_target(self, profile: TargetProfile, precision: str) -> None:
        build_settings(profile, precision)  # DLA without FP32 etc.: refused now, not on the device

    def check_prepare_here(self, precision: str) -> None:
        if precision == "int8":
            check_qdq_available()

    def prepare_for_device(
        self, onnx_path: Path, out_dir: Path, precision: str, calibration: list[np.ndarray] | None = None
    ) -> Lowered:
        """``out_dir/model.onnx``, TensorRT-ready (Q/DQ for INT8); the engine waits for the device."""
        prepared = prepare_onnx(onnx_path, out_dir, precision, calibration)
        prepared.details.update(
            {
                "engine": "pending: build it on the device with `edgecompress lower ARTIFACT`",
                "engine_precision": precision,
                "tensorrt_onnx": f"{out_dir.name}/model.onnx",
            }
        )
        return prepared

    def manifest_fields(self, lowered: Lowered, build_pending: bool) -> dict[str, Any]:
        folder = lowered.model_file.parent.name
        return {
            "onnx_file": f"{folder}/model.onnx",
            "engine_pending": build_pending,
            "model_file": f"{folder}/model.engine",
            "built_with": dict(lowered.details.get("built_with", {})),
        }

    def available(self) -> str | None:
        try:
            import tensorrt  # noqa: F401
            import torch
        except ImportError:
            return "TensorRT not installed here (JetPack provides it on the Jetson)"
        if not torch.cuda.is_available():
            return "no CUDA device here (TensorRT engines are built on the target GPU)"
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
        """Write the TensorRT-ready ONNX (Q/DQ for INT8) and build ``model.engine`` from it."""
        if guard is not None:
            raise ValueError(f"the {self.name} backend has no accuracy-controlled quantization")
        if stem != "model":
            raise ValueError(f"the {self.name} backend lowers single-graph models only (stem 'model')")
        prepared = prepare_onnx(onnx_path, out_dir, precision, calibration)
        engine, details = self.build_engine(prepared.model_file, out_dir, profile, precision)
        return Lowered(engine, [*prepared.files, engine], {**prepared.details, **details})

    @staticmethod
    def build_engine(
        onnx_file: Path, out_dir: Path, profile: TargetProfile, precision: str
    ) -> tuple[Path, dict]:
        """Build ``out_dir/model.engine`` from ``onnx_file`` with the TensorRT Python API."""
        import tensorrt as trt

        settings = build_settings(profile, precision)
        started = time.perf_counter()
        logger = trt.Logger(trt.Logger.WARNING)
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(Path(onnx_file).read_bytes()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise RuntimeError(f"TensorRT could not parse {onnx_file}: {errors}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, settings.workspace_bytes)
        for flag in settings.flags:
            config.set_flag(getattr(trt.BuilderFlag, flag))
        if settings.dla_core is not None:
            config.default_device_type = trt.DeviceType.DLA
            config.DLA_core = settings.dla_core
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise RuntimeError("TensorRT engine build failed (see the TensorRT log above)")
        out_dir.mkdir(parents=True, exist_ok=True)
        engine_file = out_dir / "model.engine"
        engine_file.write_bytes(bytes(serialized))
        details = {
            "builder": settings.as_dict(),
            "trtexec_equivalent": " ".join(trtexec_build_argv(onnx_file.name, engine_file.name, settings)),
            "engine_build_s": round(time.perf_counter() - started, 2),
            "built_with": installed_versions(),
        }
        return engine_file, details

    def load(self, model_file: Path, profile: TargetProfile, precision: str) -> Runtime:
        import tensorrt as trt

        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        engine = runtime.deserialize_cuda_engine(Path(model_file).read_bytes())
        if engine is None:
            raise RuntimeError(
                f"{model_file} is not an engine for this TensorRT/GPU; rebuild it on this device "
                "with `edgecompress lower`"
            )
        return TensorRTRuntime(engine, precision)
