"""``edgecompress lower ARTIFACT``: the device half of a TensorRT compile.

Builds the engine from the artifact's TensorRT-ready ONNX, measures latency (TensorRT runtime, and
``trtexec`` when present) and mAP through the same predict path, stamps the TensorRT / CUDA / L4T /
GPU versions into ``artifact.json`` and ``report.json``, re-hashes, and replaces the folder atomically.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from edgecompress.artifact import (
    Manifest,
    atomic_directory,
    open_artifact,
    sha256_file,
    write_checksums,
)
from edgecompress.config.target import TargetProfile
from edgecompress.errors import InputError

ENGINE_ROW = "result (TensorRT engine)"


def _profile(directory: Path, target: str | Path | None) -> TargetProfile:
    from edgecompress.config import load_target

    if target is None:
        return TargetProfile.model_validate(yaml.safe_load((directory / "target.yaml").read_text()))
    profile = load_target(target)
    if profile.backend != "tensorrt":
        raise InputError(
            f"target {profile.name} runs {profile.backend}; `lower` builds TensorRT engines",
            "pass a TensorRT target (orin-nano, orin-nx, agx-orin) or your own TensorRT profile",
        )
    return profile


def _check_artifact(directory: Path) -> Manifest:
    manifest = open_artifact(directory, "pass the folder written by `edgecompress compile --target orin-nx`")
    if manifest.backend != "tensorrt" or not manifest.onnx_file:
        raise InputError(
            f"{directory} was compiled for {manifest.backend}, not TensorRT",
            "compile it with a TensorRT target first: `edgecompress compile ... --target orin-nx`",
        )
    return manifest


def _trtexec_figures(engine: Path, settings: Any, profile: TargetProfile) -> dict[str, Any]:
    """Time the engine with trtexec when it is installed (JetPack: /usr/src/tensorrt/bin/trtexec)."""
    from edgecompress.backends.tensorrt_build import parse_trtexec, trtexec_argv

    exe = shutil.which("trtexec") or next(
        (p for p in ("/usr/src/tensorrt/bin/trtexec",) if Path(p).is_file()), None
    )
    if exe is None:
        return {"trtexec": "not found"}
    argv = trtexec_argv(engine, settings, iterations=profile.latency.iterations, trtexec=exe)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        return {"trtexec": f"failed (exit {done.returncode})", "command": " ".join(argv)}
    return {"trtexec": parse_trtexec(done.stdout), "command": " ".join(argv)}


def lower_artifact(
    artifact: str | Path, target: str | Path | None = None, data: str | Path | None = None
) -> Path:
    """Build, measure and stamp the TensorRT engine of ``artifact`` in place; returns the folder."""
    from edgecompress.backends import get_backend
    from edgecompress.backends.tensorrt_build import build_settings
    from edgecompress.data import load_split
    from edgecompress.report import Report

    directory = Path(artifact).resolve()
    manifest = _check_artifact(directory)
    profile = _profile(directory, target)
    if manifest.precision not in profile.precisions:
        raise InputError(
            f"target {profile.name} does not offer {manifest.precision}, the artifact's precision",
            f"use one of: {', '.join(profile.precisions)} when compiling",
        )
    settings = build_settings(profile, manifest.precision)
    backend = get_backend("tensorrt")
    if reason := backend.available():
        raise InputError(f"{reason.split(' (')[0]}; run this on the Jetson", "copy the artifact folder there")
    report = Report.read(directory / "report.json")
    data_yaml = data or (report.data.data_yaml if report.data else None)
    if data_yaml is None:
        raise InputError("no val data recorded in the artifact's report", "pass --data path/to/data.yaml")
    val = load_split(data_yaml, "val")
    with atomic_directory(directory, force=True) as partial:
        shutil.copytree(directory, partial, dirs_exist_ok=True)
        _build_and_measure(partial, manifest, profile, settings, report, val)
    return directory


def _build_and_measure(
    art: Path, manifest: Manifest, profile: TargetProfile, settings: Any, report: Any, val: Any
) -> None:
    from edgecompress.backends.tensorrt import TensorRTBackend
    from edgecompress.report.render import render
    from edgecompress.ui import foreign_output, status

    backend = TensorRTBackend()
    assert manifest.onnx_file is not None  # checked by _check_artifact
    status(f"building the TensorRT engine ({manifest.precision}, {', '.join(settings.flags) or 'fp32'})")
    started = time.perf_counter()
    with foreign_output():
        engine, details = backend.build_engine(
            art / manifest.onnx_file, art / "tensorrt", profile, manifest.precision
        )
    runtime = backend.load(engine, profile, manifest.precision)
    details.update(_trtexec_figures(engine, settings, profile))
    row = _engine_row(report, runtime, val, manifest, profile, details, time.perf_counter() - started)
    report.rows = [r for r in report.rows if r.name != ENGINE_ROW] + [row]
    report.environment["tensorrt_engine"] = details["built_with"]
    report.artifact_files[engine.relative_to(art).as_posix()] = sha256_file(engine)
    manifest.model_file, manifest.engine_pending = engine.relative_to(art).as_posix(), False
    manifest.built_with = details["built_with"]
    manifest.write(art)
    (art / "target.yaml").write_text(yaml.safe_dump(profile.model_dump(), sort_keys=False))
    report.write(art / "report.json")
    render(report, art)
    write_checksums(art)


def _engine_row(
    report: Any,
    runtime: Any,
    val: Any,
    manifest: Manifest,
    profile: TargetProfile,
    details: dict,
    wall: float,
) -> Any:
    """Latency and mAP of the engine through the shared predict path, as a ``result`` row."""
    import numpy as np

    from edgecompress.families.yolo_rows import detector_row
    from edgecompress.measure.accuracy import evaluate
    from edgecompress.measure.latency import measure_latency
    from edgecompress.report.schema import AccuracyRow, LatencyRow
    from edgecompress.runtime.preprocess import preprocess, read_image

    measure = report.recipe.get("measure", {})
    batch, _ = preprocess([read_image(val.images[0])], manifest.imgsz)
    lat = profile.latency
    if lat.batch > 1:
        batch = np.repeat(batch, lat.batch, axis=0)
    latency = measure_latency({"engine": runtime}, batch, lat.warmup, lat.iterations)["engine"]
    acc = evaluate(
        runtime,
        val,
        manifest.imgsz,
        measure.get("conf", 0.001),
        measure.get("iou", 0.7),
        ENGINE_ROW,
        measure.get("single_cls", False),
    )
    previous = report.row("result")
    return detector_row(
        ENGINE_ROW,
        "result",
        runtime,
        manifest.imgsz,
        (previous.params, previous.gflops),
        AccuracyRow(map50=acc.map50, map50_95=acc.map50_95),
        LatencyRow.of(latency),
        threads=None,
        batch=lat.batch,
        device=details["built_with"].get("gpu", "cuda"),
        wall_s=wall,
        details=details,
    )
