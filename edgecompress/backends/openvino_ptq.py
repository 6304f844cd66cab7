"""NNCF post-training INT8 of an OpenVINO model, the one way a compile and the sensitivity scan call it."""

from __future__ import annotations

from typing import Any

import numpy as np


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
        ignored_scope=nncf.IgnoredScope(names=ignored, validate=False),
    )
