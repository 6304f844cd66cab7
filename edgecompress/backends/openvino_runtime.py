"""A compiled OpenVINO model as a Runtime, and the float type it runs its non-quantized ops in."""

from __future__ import annotations

from typing import Any

import numpy as np

from edgecompress.backends.base import Runtime


def executed_precision(compiled: Any) -> str | None:
    """The float precision a compiled model runs its non-quantized ops in (``f32``, ``bf16``, ``f16``)."""
    try:
        return compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
    except Exception:  # a device plugin without the property
        return None


class OpenVINORuntime(Runtime):
    """A compiled OpenVINO model."""

    name = "openvino"

    def __init__(self, compiled: Any, precision: str, device: str) -> None:
        self._request = compiled.create_infer_request()
        self.precision = precision
        self.device = device
        self.executed_precision = executed_precision(compiled)
        # a model lowered with lower.input_format uint8_nhwc takes the uint8 image as it is
        self.takes_uint8_images = compiled.input(0).get_element_type().to_string() == "u8"

    def native_input(self, batch: np.ndarray) -> np.ndarray:
        """Float NCHW in [0, 1] → uint8 NHWC for a model lowered to take images; else unchanged."""
        if not self.takes_uint8_images or batch.dtype == np.uint8:
            return batch
        from edgecompress.backends.openvino_input import to_uint8_nhwc

        return to_uint8_nhwc(batch)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        result = self._request.infer({0: self.native_input(batch)})
        return np.asarray(next(iter(result.values())))

    @property
    def version(self) -> str:
        import openvino

        return openvino.__version__.split("-")[0]
