"""NNCF post-training INT8 of an OpenVINO model, the one way a compile and the sensitivity scan call it.

NNCF's full BiasCorrection replaces its default FastBiasCorrection by default
(``FAST_BIAS_CORRECTION``): on the pruned DeepPCB YOLOv8n (g75, 0.54 GFLOPs) it keeps mAP50-95
0.5325 against 0.5085 (FP32 0.545), the same 74 quantizers, for 106 s of quantization instead of
69 s (``bench/pcb_int8_variants.py``, BENCHMARKS.md). Small, pruned layers shift their output mean
most when quantized, which the full algorithm corrects layer by layer on the quantized model's own
activations. It is not better for every model (the unpruned DeepPCB YOLOv8n: 0.5660 full, 0.5716
fast), so a compile with labelled train images quantizes both ways and keeps the better
(``choose_bias_correction``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgecompress.backends.base import QuantizationChoice

FAST_BIAS_CORRECTION = False


def quantize(
    ov_model: Any, calibration: list[np.ndarray], ignored: list[str], fast: bool = FAST_BIAS_CORRECTION
) -> Any:
    """``ov_model`` quantized by NNCF (mixed preset, every calibration image), except the ``ignored`` ops."""
    import logging

    import nncf

    nncf.set_log_level(logging.WARNING)
    return nncf.quantize(
        ov_model,
        nncf.Dataset(calibration),
        preset=nncf.QuantizationPreset.MIXED,
        subset_size=len(calibration),
        fast_bias_correction=fast,
        ignored_scope=nncf.IgnoredScope(names=ignored, validate=False),
    )


def choose_bias_correction(
    ov_model: Any, calibration: list[np.ndarray], ignored: list[str], choice: QuantizationChoice
) -> tuple[Any, dict]:
    """``ov_model`` quantized with fast and with full bias correction; the one ``choice`` scores higher.

    Returns the model and the report's entry: both scores, the images they were taken on, the pick
    (full on a tie, the default).
    """
    import openvino as ov

    from edgecompress.backends.openvino_runtime import OpenVINORuntime

    assert choice.metric is not None and choice.items
    candidates: dict[str, Any] = {}
    scores: dict[str, float] = {}
    for name in ("full", "fast"):
        candidates[name] = quantize(ov_model.clone(), calibration, ignored, fast=name == "fast")
        runtime = OpenVINORuntime(ov.Core().compile_model(candidates[name], "CPU"), "int8", "CPU")
        scores[name], _ = choice.metric(runtime, list(choice.items))
    chosen = "fast" if scores["fast"] > scores["full"] else "full"
    return candidates[chosen], {
        "mode": "auto",
        "chosen": chosen,
        "scores": {name: round(value, 6) for name, value in scores.items()},
        "images": len(choice.items),
        **choice.settings,
    }
