"""INT8 sensitivity per layer on OpenVINO: the mAP50-95 lost when only that layer is quantized.

For each layer NNCF quantizes the model with every other op in its ignored scope, so the quantizers
are exactly those NNCF's own placement gives that one layer (same preset and calibration as a
compile's plain INT8); everything else stays float.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edgecompress.backends.openvino_guard import layer_name
from edgecompress.backends.openvino_ptq import quantize

LAYER_TYPES = ("Convolution", "GroupConvolution", "MatMul")


@dataclass
class LayerSensitivity:
    """One layer: mAP50-95 with only it quantized, and the loss against FP32."""

    layer: str
    map50_95: float
    loss: float


@dataclass
class SensitivityResult:
    """The ranking (largest loss first) and the reference numbers it was measured against."""

    fp32: float
    int8_all: float
    images: int
    calibration_images: int
    rows: list[LayerSensitivity]

    def as_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


def quantizable_layers(ov_model: Any, ignored: list[str]) -> list[str]:
    """Friendly names of the convolutions and matmuls outside ``ignored``, in graph order."""
    skip = set(ignored)
    return [
        op.get_friendly_name()
        for op in ov_model.get_ordered_ops()
        if op.get_type_name() in LAYER_TYPES and op.get_friendly_name() not in skip
    ]


def only_layer_quantized(ov_model: Any, calibration: list[np.ndarray], name: str) -> Any:
    """``ov_model`` with NNCF quantizing only the op called ``name`` (every other op ignored)."""
    others = [op.get_friendly_name() for op in ov_model.get_ops() if op.get_friendly_name() != name]
    return quantize(ov_model, calibration, others)


def rank_layers(
    ov_model: Any,
    calibration: list[np.ndarray],
    ignored: list[str],
    metric: Callable[[Any, Sequence[Any]], tuple[float, list[float]]],
    images: Sequence[Any],
    pattern: str | None = None,
    threads: int | None = None,
) -> SensitivityResult:
    """Rank the quantizable layers (``pattern``: a regex on their names) by mAP50-95 loss, largest first."""
    import openvino as ov

    from edgecompress.backends.openvino_runtime import OpenVINORuntime
    from edgecompress.ui import track

    core = ov.Core()

    def score(model: Any, precision: str) -> float:
        config: dict[str, Any] = {"INFERENCE_NUM_THREADS": threads} if threads else {}
        if precision == "fp32":
            config["INFERENCE_PRECISION_HINT"] = "f32"
        compiled = core.compile_model(model, "CPU", config)
        return metric(OpenVINORuntime(compiled, precision, "CPU"), list(images))[0]

    layers = [
        n for n in quantizable_layers(ov_model, ignored) if not pattern or re.search(pattern, layer_name(n))
    ]
    if not layers:
        return SensitivityResult(0.0, 0.0, len(images), len(calibration), [])
    fp32 = score(ov_model, "fp32")
    int8_all = score(quantize(ov_model, calibration, ignored), "int8")
    rows = []
    for name in track(layers, f"quantizing {len(layers)} layers one at a time"):
        value = score(only_layer_quantized(ov_model, calibration, name), "int8")
        rows.append(LayerSensitivity(layer_name(name), round(value, 6), round(fp32 - value, 6)))
    rows.sort(key=lambda r: r.loss, reverse=True)
    return SensitivityResult(round(fp32, 6), round(int8_all, 6), len(images), len(calibration), rows)
