"""TensorRT engine-build plumbing as pure functions: builder settings, trtexec arguments, versions.

Nothing here imports TensorRT at module level, so it is unit-tested on machines without a GPU; the
backend (``tensorrt.py``) and ``edgecompress lower`` (``lower_on_device.py``) apply these on the device.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgecompress.errors import InputError

if TYPE_CHECKING:
    from edgecompress.config.target import TargetProfile

ENGINE_VERSION_KEYS = ("tensorrt", "cuda", "l4t", "gpu")


@dataclass(frozen=True)
class BuildSettings:
    """What the engine builder is told: workspace, precision flags, DLA core and GPU fallback."""

    precision: str
    workspace_bytes: int
    flags: tuple[str, ...] = ()  # names of trt.BuilderFlag members
    dla_core: int | None = None
    gpu_fallback: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The settings as recorded in ``report.json``."""
        return {**asdict(self), "flags": list(self.flags)}


def build_settings(profile: TargetProfile, precision: str) -> BuildSettings:
    """Builder settings for ``precision`` from the profile's ``tensorrt`` block (defaults without one).

    FP16 and INT8 both set the FP16 flag: with an explicit Q/DQ ONNX (INT8) the scales come from the
    model, and the layers left unquantized run in FP16 rather than FP32. The INT8 flag is only set for
    INT8. DLA needs FP16 or INT8; unsupported layers fall back to the GPU when ``gpu_fallback``.
    """
    if precision not in ("fp32", "fp16", "int8"):
        raise InputError(f"TensorRT has no precision {precision!r}", "use fp32, fp16 or int8")
    trt = profile.tensorrt
    workspace_gb = trt.workspace_gb if trt else 2.0
    flags = {"fp32": (), "fp16": ("FP16",), "int8": ("FP16", "INT8")}[precision]
    notes = []
    if precision == "int8":
        notes.append("explicit quantization: INT8 scales from the Q/DQ nodes of the ONNX model")
    dla_core = trt.dla_core if trt else None
    if dla_core is not None and precision == "fp32":
        raise InputError(
            f"target {profile.name} puts the engine on DLA core {dla_core}, which has no FP32",
            "use --precision fp16 or int8, or set tensorrt.dla_core: null in the profile",
        )
    fallback = bool(trt and trt.gpu_fallback and dla_core is not None)
    if fallback:
        flags = (*flags, "GPU_FALLBACK")
    return BuildSettings(precision, int(workspace_gb * (1 << 30)), flags, dla_core, fallback, notes)


def trtexec_argv(
    engine: Path,
    settings: BuildSettings,
    warmup_ms: int = 500,
    iterations: int = 500,
    trtexec: str = "trtexec",
) -> list[str]:
    """``trtexec`` arguments that time an already built engine (``--loadEngine``) as the builder made it.

    ``--duration=0`` makes ``--iterations`` the number of timed inferences; ``--useSpinWait`` and
    ``--noDataTransfers`` give the GPU compute time the report compares against its own figure.
    """
    argv = [
        trtexec,
        f"--loadEngine={engine}",
        f"--warmUp={warmup_ms}",
        f"--iterations={iterations}",
        "--duration=0",
        "--avgRuns=10",
        "--useSpinWait",
        "--noDataTransfers",
    ]
    if settings.dla_core is not None:
        argv.append(f"--useDLACore={settings.dla_core}")
    return argv


def trtexec_build_argv(
    onnx: str | Path, engine: str | Path, settings: BuildSettings, trtexec: str = "trtexec"
) -> list[str]:
    """The ``trtexec`` command building the engine :func:`build_settings` describes (for the report)."""
    argv = [
        trtexec,
        f"--onnx={onnx}",
        f"--saveEngine={engine}",
        f"--memPoolSize=workspace:{settings.workspace_bytes >> 20}",
    ]
    argv += [f"--{flag.lower()}" for flag in settings.flags if flag in ("FP16", "INT8")]
    if settings.dla_core is not None:
        argv.append(f"--useDLACore={settings.dla_core}")
        if settings.gpu_fallback:
            argv.append("--allowGPUFallback")
    return argv


_STATS = re.compile(r"(min|max|mean|median|percentile\((\d+)%\))\s*=\s*([\d.]+)\s*ms")


def parse_trtexec(output: str) -> dict[str, Any]:
    """Throughput (qps) and the GPU compute / host latency statistics (ms) from ``trtexec``'s summary."""
    result: dict[str, Any] = {}
    if m := re.search(r"Throughput:\s*([\d.]+)\s*qps", output):
        result["throughput_qps"] = float(m.group(1))
    for key, label in (("gpu_compute_ms", "GPU Compute Time"), ("latency_ms", "Latency")):
        m = re.search(rf"\]\s*{label}:\s*(.*)", output) or re.search(rf"^{label}:\s*(.*)", output, re.M)
        if not m:
            continue
        stats = {}
        for name, pct, value in _STATS.findall(m.group(1)):
            stats[f"p{pct}" if pct else name] = float(value)
        result[key] = stats
    return result


def version_mismatches(recorded: dict[str, str], installed: dict[str, str]) -> list[str]:
    """What differs between the versions an engine was built with and this machine's (empty: same).

    A key recorded at build time but absent here (e.g. the L4T release on a non-Jetson) is a mismatch.
    """
    return [
        f"{key} {recorded[key]} (engine) vs {installed.get(key, 'none')} (here)"
        for key in ENGINE_VERSION_KEYS
        if key in recorded and str(recorded[key]) != str(installed.get(key))
    ]


def installed_versions() -> dict[str, str]:
    """TensorRT, CUDA, L4T release (Jetson) and GPU name on this machine (keys absent where unknown)."""
    from edgecompress.measure.environment import gpu_info, jetson_release

    versions: dict[str, str] = {}
    try:
        import tensorrt

        versions["tensorrt"] = tensorrt.__version__
    except ImportError:
        pass
    gpu = gpu_info()
    if gpu.get("cuda"):
        versions["cuda"] = str(gpu["cuda_version"])
        versions["gpu"] = str(gpu["name"])
    if release := jetson_release():
        versions["l4t"] = parse_l4t(release)
    return versions


def parse_l4t(line: str) -> str:
    """``36.3.0`` from ``/etc/nv_tegra_release``'s ``# R36 (release), REVISION: 3.0, ...`` (else the line)."""
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", line)
    return f"{m.group(1)}.{m.group(2)}" if m else line.strip()
