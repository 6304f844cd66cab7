"""NNCF post-training INT8 of an OpenVINO model, the one way a compile and the sensitivity scan call it.

NNCF's full BiasCorrection replaces its default FastBiasCorrection (``FAST_BIAS_CORRECTION``): on the
pruned DeepPCB YOLOv8n (g75, 0.54 GFLOPs) it keeps mAP50-95 0.5325 against 0.5085 (FP32 0.545),
the same 74 quantizers, for 106 s of quantization instead of 69 s (``bench/pcb_int8_variants.py``,
BENCHMARKS.md). Small, pruned layers shift their output mean most when quantized, which the full
algorithm corrects layer by layer on the quantized model's own activations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FAST_BIAS_CORRECTION = False


def quantize(ov_model: Any, calibration: list[np.ndarray], ignored: list[str]) -> Any:
    """``ov_model`` quantized by NNCF (mixed preset, every calibration image), except the ``ignored`` ops."""
    import logging

    import nncf

    nncf.set_log_level(logging.WARNING)
    return nncf.quantize(
        ov_model,
        nncf.Dataset(calibration),
        preset=nncf.QuantizationPreset.MIXED,
        subset_size=len(calibration),
        fast_bias_correction=FAST_BIAS_CORRECTION,
        ignored_scope=nncf.IgnoredScope(names=ignored, validate=False),
    )
