"""The machine and library versions a measurement was taken with."""

from __future__ import annotations

import importlib.metadata
import platform
from pathlib import Path
from typing import Any

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


# the instruction-set extensions that decide which kernels a CPU runtime picks (INT8 dot products,
# bfloat16, AMX tiles); the CPU's name alone does not say which of them a VM exposes
ISA_FLAGS = (
    "avx2",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "asimd",  # Arm (Jetson's Cortex-A78AE): NEON, and the dot-product extension below
    "asimddp",
)


def isa_flags() -> list[str]:
    """The relevant instruction-set flags this CPU reports (/proc/cpuinfo), in :data:`ISA_FLAGS` order."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return []
    for line in cpuinfo.read_text().splitlines():
        if line.startswith(("flags", "Features")):  # x86 names the line flags, Arm Features
            present = set(line.split(":", 1)[1].split())
            return [flag for flag in ISA_FLAGS if flag in present]
    return []


def cpu_has_bf16() -> bool:
    """Whether OpenVINO's CPU plugin can run bfloat16 here (its own capability list, else the ISA flags)."""
    try:
        import openvino as ov

        return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:  # openvino missing or no CPU plugin: fall back to the flags
        return bool({"avx512_bf16", "amx_bf16"} & set(isa_flags()))


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape a measurement (absent ones omitted)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def jetson_release() -> str | None:
    """The L4T release line from /etc/nv_tegra_release on a Jetson, else None."""
    path = Path("/etc/nv_tegra_release")
    return path.read_text().splitlines()[0].strip() if path.exists() else None


def gpu_info() -> dict[str, Any]:
    """CUDA availability, device name and CUDA version as torch sees them."""
    try:
        import torch
    except ImportError:
        return {"cuda": False}
    if not torch.cuda.is_available():
        return {"cuda": False}
    return {"cuda": True, "name": torch.cuda.get_device_name(0), "cuda_version": torch.version.cuda}
