"""OpenVINO backend: IR at FP32/FP16, INT8 by NNCF post-training quantization."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgecompress.backends.base import AccuracyGuard, Backend, Graph, Lowered, QuantizationChoice, Runtime
from edgecompress.backends.head_scope import head_decode_names
from edgecompress.backends.openvino_ptq import FAST_BIAS_CORRECTION, choose_bias_correction, quantize
from edgecompress.backends.openvino_runtime import OpenVINORuntime
from edgecompress.config.target import TargetProfile


def decode_scope_names(ov_model: Any) -> list[str]:
    """Names of the detection head's decoding ops (DFL, box arithmetic, class sigmoid) to keep in float."""
    return head_decode_names([op.get_friendly_name() for op in ov_model.get_ops()])


def bias_correction_mode(choice: QuantizationChoice | None, guard: AccuracyGuard | None) -> str:
    """``fast``, ``full`` or ``auto`` (quantize both, keep the better): ``auto`` only with images to score.

    Under the accuracy guard ``auto`` means ``full``: the guard's own search decides what stays float.
    """
    mode = choice.bias_correction if choice else ("fast" if FAST_BIAS_CORRECTION else "full")
    if mode == "auto" and (guard is not None or not (choice and choice.items)):
        return "full"
    return mode


def load_config(profile: TargetProfile, precision: str) -> dict[str, Any]:
    """OpenVINO compile settings for ``precision``.

    ``fp32`` is forced to f32 (on BF16 CPUs OpenVINO would otherwise run it in bfloat16), ``bf16``
    asks for bfloat16; ``fp16`` and ``int8`` leave the float parts to the plugin's fastest type.
    """
    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
    if profile.threads:
        config["INFERENCE_NUM_THREADS"] = profile.threads
    if profile.device.upper().startswith("CPU") and precision in ("fp32", "bf16"):
        config["INFERENCE_PRECISION_HINT"] = {"fp32": "f32", "bf16": "bf16"}[precision]
    return config


def qdq_onnx_settings() -> dict[str, Any]:
    """Extra compile settings for a Q/DQ ONNX on this CPU.

    On CPUs without AVX-512 OpenVINO's low-precision transforms still mis-run the guarded Q/DQ graph
    (the demo's TensorRT-ready ONNX scored mAP50-95 0.03 against 0.80 in FP32 on an AVX2-only EPYC,
    OpenVINO 2026.4.1); there the transforms are switched off, so the Q/DQ pairs run as
    quantize-dequantize in float: the same INT8 numerics, without INT8 speed.
    """
    from edgecompress.measure.environment import isa_flags

    return {} if "avx512f" in isa_flags() else {"LP_TRANSFORMS_MODE": "NO"}


class OpenVINOBackend(Backend):
    """Lowers to OpenVINO IR (``model.xml`` + ``model.bin``)."""

    name = "openvino"
    install_hint = "pip install openvino nncf"

    def available(self) -> str | None:
        try:
            import openvino  # noqa: F401
        except ImportError:
            return "openvino is not installed (pip install openvino)"
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
        import openvino as ov

        if guard is not None and precision != "int8":
            raise ValueError("accuracy-controlled quantization is for int8 only")
        ov_model = ov.convert_model(str(onnx_path))
        details: dict = {}
        if precision == "int8":
            ov_model, details = self._quantize(ov_model, calibration or [], guard, choice)
        out_dir.mkdir(parents=True, exist_ok=True)
        xml = out_dir / f"{stem}.xml"
        ov.save_model(ov_model, str(xml), compress_to_fp16=precision == "fp16")
        return Lowered(xml, [xml, xml.with_suffix(".bin")], details)

    @staticmethod
    def _quantize(
        ov_model: Any,
        calibration: list[np.ndarray],
        guard: AccuracyGuard | None = None,
        choice: QuantizationChoice | None = None,
    ) -> tuple[Any, dict]:
        import logging

        import nncf

        nncf.set_log_level(logging.WARNING)
        if not calibration:
            raise ValueError("INT8 lowering needs calibration images")
        ignored = decode_scope_names(ov_model)
        mode = bias_correction_mode(choice, guard)
        details: dict = {
            "quantizer": f"nncf {nncf.__version__}",
            "bias_correction": mode,
            "float_decode_ops": len(ignored),
            "calibration_images": len(calibration),
        }
        if guard is not None:
            from edgecompress.backends.openvino_guard import guarded_quantize

            quantized, details["accuracy_guard"] = guarded_quantize(
                ov_model, calibration, ignored, guard, fast=mode == "fast"
            )
            return quantized, details
        if mode == "auto":
            assert choice is not None
            quantized, chosen = choose_bias_correction(ov_model, calibration, ignored, choice)
            details["bias_correction"] = chosen["chosen"]
            details["bias_correction_choice"] = chosen
            return quantized, details
        return quantize(ov_model, calibration, ignored, fast=mode == "fast"), details

    def load(self, model_file: Path, profile: TargetProfile, precision: str) -> Runtime:
        import openvino as ov

        config = load_config(profile, precision)
        with tempfile.TemporaryDirectory(prefix="ec-ov-qdq-") as folder:
            if model_file.suffix == ".onnx":  # e.g. a TensorRT-ready Q/DQ ONNX scored on this CPU
                from edgecompress.backends.tensorrt_onnx import openvino_ready_onnx

                model_file = openvino_ready_onnx(model_file, Path(folder))
                config.update(qdq_onnx_settings())
            compiled = ov.Core().compile_model(str(model_file), profile.device, config)
        return OpenVINORuntime(compiled, precision, profile.device)

    def load_graph(self, model_file: Path, profile: TargetProfile, precision: str) -> Graph:
        import openvino as ov

        compiled = ov.Core().compile_model(str(model_file), profile.device, load_config(profile, precision))
        names = {name for port in compiled.inputs for name in port.get_names()}
        request = compiled.create_infer_request()

        def run(inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
            result = request.infer({k: v for k, v in inputs.items() if k in names})
            return [np.asarray(value) for value in result.values()]

        return run
