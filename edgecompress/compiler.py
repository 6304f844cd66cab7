"""validate → baseline → stages → lower → measure → write artifact.

Everything that can be wrong with the input is checked in :func:`plan` before any work starts.
"""

from __future__ import annotations

import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from edgecompress.artifact import Manifest, atomic_directory, check_output_dir, sha256_file, write_checksums
from edgecompress.backends import Backend, Runtime, get_backend
from edgecompress.config import Recipe, TargetProfile, load_calibration_spec, load_recipe, load_target
from edgecompress.config.calibration import CalibrationSpec
from edgecompress.data import DetectionSplit, load_split
from edgecompress.errors import BackendUnavailable, InputError
from edgecompress.measure.environment import cpu_model, package_versions
from edgecompress.models.yolo import YoloDetector, load_detector
from edgecompress.report import Report
from edgecompress.report.render import render
from edgecompress.report.schema import CalibrationInfo, DataInfo, ModelInfo
from edgecompress.stage_rows import MeasuredRuntime, measure_rows
from edgecompress.ui import foreign_output, status


@dataclass
class CompileContext:
    """Everything validated for one compile."""

    detector: YoloDetector
    target: TargetProfile
    recipe: Recipe
    backend: Backend
    precision: str
    imgsz: int
    data_yaml: Path
    val: DetectionSplit
    calibration: CalibrationSpec | None
    out: Path
    force: bool = False
    command: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def apply_overrides(recipe: Recipe, overrides: list[str]) -> Recipe:
    """Apply ``--set a.b.0.c=value`` overrides (values parsed as YAML) and re-validate."""
    data = recipe.model_dump()
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise InputError(f"--set {item!r} has no '='", "write --set lower.precision=fp16")
        node: Any = data
        parts = key.split(".")
        try:
            for part in parts[:-1]:
                node = node[int(part)] if isinstance(node, list) else node[part]
            last = int(parts[-1]) if isinstance(node, list) else parts[-1]
            node[last] = yaml.safe_load(raw)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise InputError(f"--set {key}: no such recipe key", "check the recipe's keys") from exc
    try:
        return Recipe.model_validate(data)
    except Exception as exc:
        raise InputError(
            f"--set made the recipe invalid: {str(exc).splitlines()[-1]}", "fix the value"
        ) from exc


def plan(
    model: str | Path,
    data: str | Path,
    target: str | Path = "x86-cpu",
    recipe: str | Path = "default",
    precision: str | None = None,
    out: str | Path | None = None,
    imgsz: int | None = None,
    overrides: list[str] | None = None,
    force: bool = False,
    command: str = "",
) -> CompileContext:
    """Validate every input and return the context of the compile; raises InputError on bad input."""
    profile = load_target(target)
    the_recipe = apply_overrides(load_recipe(recipe), overrides or [])
    chosen = precision or the_recipe.lower.precision or profile.default_precision
    if chosen not in profile.precisions:
        raise InputError(
            f"target {profile.name} does not offer precision {chosen}",
            f"use one of: {', '.join(profile.precisions)}",
        )
    backend = get_backend(profile.backend)
    if reason := backend.available():
        hint = (
            f"copy the model and data to the device and run `edgecompress compile {Path(model).name} "
            f"--target {profile.name} --data {Path(data).name}` there"
            if profile.build_on_device
            else "install it, or pick another target (`edgecompress targets`)"
        )
        raise BackendUnavailable(f"target {profile.name} needs {profile.backend}: {reason}", hint)
    out_dir = Path(out) if out else Path("runs") / f"{Path(model).stem}-{profile.name}"
    check_output_dir(out_dir, force)
    detector = load_detector(model)
    val = load_split(data, "val")
    if len(val.names) != len(detector.names) and not the_recipe.measure.single_cls:
        raise InputError(
            f"{data} has {len(val.names)} classes but the model has {len(detector.names)}",
            "pass the data yaml the model was trained on, or --set measure.single_cls=true",
        )
    spec = load_calibration_spec(the_recipe.lower.calibration) if chosen == "int8" else None
    if spec:
        load_split(data, spec.split, require_labels=False)
    size = imgsz or the_recipe.measure.imgsz or detector.train_imgsz
    return CompileContext(
        detector, profile, the_recipe, backend, chosen, size, Path(data), val, spec, out_dir, force, command
    )


def _environment() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": package_versions(),
    }


def _lower(ctx: CompileContext, onnx: Path, out_dir: Path, precision: str, calibration: list | None) -> tuple:
    with foreign_output():
        lowered = ctx.backend.lower(onnx, out_dir, ctx.target, precision, calibration)
    return lowered, ctx.backend.load(lowered.model_file, ctx.target, precision)


def run(ctx: CompileContext) -> Path:
    """Run the compile described by ``ctx`` and return the artifact folder."""
    from edgecompress.calibration_set import build_calibration_set

    started = time.perf_counter()
    with atomic_directory(ctx.out, ctx.force) as art, tempfile.TemporaryDirectory(prefix="ec-build-") as tmp:
        build = Path(tmp)
        status(f"exporting ONNX at {ctx.imgsz}×{ctx.imgsz}")
        with foreign_output():
            onnx = ctx.detector.export_onnx(
                build / "onnx", ctx.imgsz, ctx.recipe.lower.simplify, ctx.recipe.lower.opset
            )
        runtimes: list[MeasuredRuntime] = []
        if ctx.recipe.measure.baseline:
            runtimes.append(
                MeasuredRuntime(
                    "original (PyTorch)", "original", ctx.detector.torch_runtime(ctx.target.threads), None
                )
            )
        calib = None
        if ctx.precision == "int8":
            assert ctx.calibration is not None
            calib = build_calibration_set(str(ctx.data_yaml), ctx.calibration, ctx.imgsz)
        if ctx.recipe.measure.baseline and ctx.precision != "fp32":
            status(f"lowering baseline: {ctx.backend.name} fp32")
            _, base_rt = _lower(ctx, onnx, build / "baseline", "fp32", None)
            runtimes.append(MeasuredRuntime(f"baseline ({ctx.backend.name} fp32)", "baseline", base_rt, None))
        status(f"lowering result: {ctx.backend.name} {ctx.precision}")
        lowered, result_rt = _lower(
            ctx, onnx, art / ctx.backend.name, ctx.precision, calib.inputs if calib else None
        )
        runtimes.append(
            MeasuredRuntime(
                f"result ({ctx.backend.name} {ctx.precision})", "result", result_rt, lowered.details
            )
        )
        rows, data_info = measure_rows(ctx, runtimes)
        shutil.copyfile(onnx, art / "model.onnx")
        shutil.copyfile(ctx.detector.checkpoint, art / "model.pt")
        (art / "recipe.yaml").write_text(yaml.safe_dump(ctx.recipe.model_dump(), sort_keys=False))
        (art / "target.yaml").write_text(yaml.safe_dump(ctx.target.model_dump(), sort_keys=False))
        Manifest(
            "yolo",
            ctx.backend.name,
            ctx.precision,
            lowered.model_file.relative_to(art).as_posix(),
            ctx.imgsz,
            ctx.detector.names,
        ).write(art)
        report = Report(
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            command=ctx.command or " ".join(sys.argv),
            model=ModelInfo(
                source=str(ctx.detector.checkpoint),
                sha256=sha256_file(ctx.detector.checkpoint),
                family="yolo",
                task="detect",
                names=ctx.detector.names,
                imgsz=ctx.imgsz,
            ),
            target=ctx.target.model_dump(),
            recipe=ctx.recipe.model_dump(),
            precision=ctx.precision,
            environment=_environment(),
            data=data_info,
            calibration=CalibrationInfo(
                spec=ctx.calibration.name,
                split=ctx.calibration.split,
                count=len(calib.inputs),
                images_sha256=calib.images_sha256,
            )
            if calib and ctx.calibration
            else None,
            rows=rows,
            artifact_files={p.relative_to(art).as_posix(): sha256_file(p) for p in lowered.files},
            total_wall_s=time.perf_counter() - started,
        )
        report.write(art / "report.json")
        render(report, art)
        write_checksums(art)
    return ctx.out


def compile_model(**kwargs: Any) -> Path:
    """Validate, then compile; see :func:`plan` for the arguments."""
    return run(plan(**kwargs))


__all__ = ["CompileContext", "DataInfo", "Runtime", "compile_model", "plan", "run"]
