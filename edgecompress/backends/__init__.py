"""Backends by name; each lowers ONNX for one runtime and loads the result."""

from __future__ import annotations

from edgecompress.backends.base import Backend, Lowered, Runtime
from edgecompress.errors import InputError


def get_backend(name: str) -> Backend:
    """Return the backend called ``name`` (``openvino``, ``onnxruntime``, ``tensorrt``)."""
    from edgecompress.backends.onnxruntime import OnnxRuntimeBackend
    from edgecompress.backends.openvino import OpenVINOBackend
    from edgecompress.backends.tensorrt import TensorRTBackend

    backends: dict[str, type[Backend]] = {
        "openvino": OpenVINOBackend,
        "onnxruntime": OnnxRuntimeBackend,
        "tensorrt": TensorRTBackend,
    }
    if name not in backends:
        raise InputError(f"unknown backend {name!r}", f"use one of: {', '.join(backends)}")
    return backends[name]()


__all__ = ["Backend", "Lowered", "Runtime", "get_backend"]
