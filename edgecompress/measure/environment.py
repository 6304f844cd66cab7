"""The machine and library versions a measurement was taken with."""

from __future__ import annotations

import importlib.metadata
import platform
from pathlib import Path

PACKAGES = (
    "edgecompress",
    "torch",
    "ultralytics",
    "onnx",
    "onnxslim",
    "onnxruntime",
    "openvino",
    "nncf",
    "torch-pruning",
    "tensorrt",
)


def cpu_model() -> str:
    """The CPU's marketing name (from /proc/cpuinfo on Linux)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape a measurement (absent ones omitted)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions
