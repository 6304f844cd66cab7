"""Accuracy-controlled OpenVINO INT8: NNCF's ``quantize_with_accuracy_control`` with edgecompress' metric.

NNCF quantizes the model, then reverts the groups of layers that cost the most accuracy to float
until the metric drop is at most ``max_drop`` (or nothing is left to revert). NNCF returns only the
model; which layers went back to float is read from the graphs: the fully quantized intermediate
model NNCF saves versus the final one.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgecompress.backends.base import AccuracyGuard

_WEIGHT_SUFFIX = "/WithoutBiases"


_LOW_PRECISION = {"i8", "u8", "i4", "u4"}
_DEQUANTIZE_OPS = {"Convert", "Subtract", "Multiply", "Reshape", "Transpose"}


def _int_constant_behind(node: Any, depth: int = 4) -> bool:
    """Whether ``node`` dequantizes an int8 (or int4) constant: compressed INT8 weights."""
    kind = node.get_type_name()
    if kind == "Constant":
        return node.get_element_type().get_type_name() in _LOW_PRECISION
    if kind not in _DEQUANTIZE_OPS or depth == 0:
        return False
    return any(_int_constant_behind(v.get_node(), depth - 1) for v in node.input_values())


def quantized_inputs(ov_model: Any) -> dict[str, int]:
    """Ops (by friendly name) with quantized inputs, and how many: a FakeQuantize or int8 weights.

    Covers both forms NNCF writes: FakeQuantize on weights (intermediate) and weights folded into
    int8 constants (final); activations are FakeQuantize in both.
    """
    found: dict[str, int] = {}
    for op in ov_model.get_ops():
        if op.get_type_name() == "FakeQuantize" or _int_constant_behind(op):
            continue  # quantizers and weight dequantization themselves
        count = 0
        for value in op.input_values():
            source = value.get_node()
            count += source.get_type_name() == "FakeQuantize" or _int_constant_behind(source)
        if count:
            found[op.get_friendly_name()] = count
    return found


def layer_name(friendly_name: str) -> str:
    """The ONNX-like name of an OpenVINO op (``/model.2/cv1/conv/Conv``)."""
    return friendly_name.removesuffix(_WEIGHT_SUFFIX)


def _runtime(ov_model: Any, precision: str) -> Any:
    import openvino as ov

    from edgecompress.backends.openvino_runtime import OpenVINORuntime

    config = {"INFERENCE_PRECISION_HINT": "f32"} if precision == "fp32" else {}
    return OpenVINORuntime(ov.Core().compile_model(ov_model, "CPU", config), precision, "CPU")


def guarded_quantize(
    ov_model: Any,
    calibration: list[np.ndarray],
    ignored: list[str],
    guard: AccuracyGuard,
    fast: bool = False,
) -> tuple[Any, dict]:
    """Quantize ``ov_model`` with accuracy control; returns the model and the guard's report entry."""
    import nncf
    import openvino as ov
    from nncf.quantization.advanced_parameters import AdvancedAccuracyRestorerParameters

    from edgecompress.backends.openvino_runtime import OpenVINORuntime

    def validate(compiled: Any, items: Any) -> tuple[float, list[float]]:
        return guard.metric(OpenVINORuntime(compiled, "int8", "CPU"), list(items))

    items = list(guard.items)
    fp32, _ = guard.metric(_runtime(ov_model, "fp32"), items)
    with tempfile.TemporaryDirectory(prefix="ec-guard-") as tmp:
        restorer = AdvancedAccuracyRestorerParameters(
            max_num_iterations=guard.max_reverted or sys.maxsize,
            ranking_subset_size=len(items),
            num_ranking_workers=1,  # NNCF would otherwise size a process pool to the machine
            intermediate_model_dir=tmp,
        )
        quantized = nncf.quantize_with_accuracy_control(
            ov_model,
            nncf.Dataset(calibration),
            nncf.Dataset(items),
            validate,
            max_drop=guard.max_drop,
            drop_type=nncf.DropType.ABSOLUTE,
            preset=nncf.QuantizationPreset.MIXED,
            subset_size=len(calibration),
            fast_bias_correction=fast,
            ignored_scope=nncf.IgnoredScope(names=ignored, validate=False),
            advanced_accuracy_restorer_parameters=restorer,
        )
        full = ov.Core().read_model(str(Path(tmp) / "intermediate_model.xml"))
        before = quantized_inputs(full)
        ptq, _ = guard.metric(_runtime(full, "int8"), items)
    after = quantized_inputs(quantized)
    reverted = [layer_name(n) for n in before if after.get(n, 0) < before[n]]
    result, _ = guard.metric(_runtime(quantized, "int8"), items)
    return quantized, {
        **guard.settings,
        "max_drop": guard.max_drop,
        "drop_type": "absolute",
        "max_reverted": guard.max_reverted,
        "images": len(items),
        "fp32": round(fp32, 6),
        "int8_ptq": round(ptq, 6),
        "result": round(result, 6),
        "drop": round(fp32 - result, 6),
        "met": fp32 - result <= guard.max_drop + 1e-9,
        "quantized_ops_ptq": len(before),
        "quantized_ops": len(after),
        "reverted_layers": reverted,
    }
