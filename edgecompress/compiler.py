"""validate → baseline → stages → lower → measure → write artifact.

Everything that can be wrong with the input is checked in :func:`plan` before any work starts.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from edgecompress.artifact import (
    Manifest,
    atomic_directory,
    check_output_dir,
    output_lock,
    sha256_file,
    write_checksums,
)
from edgecompress.backends import Backend, Runtime
from edgecompress.backends.base import AccuracyGuard
from edgecompress.compile_inputs import (
    accuracy_guard,
    backend_here,
    calibration_input,
    check_accuracy_guard,
    check_dataset,
    check_imgsz,
    environment,
)
from edgecompress.config import Recipe, TargetProfile, load_recipe, load_target
from edgecompress.config.calibration import CalibrationSpec
from edgecompress.config.recipe import apply_overrides, check_family
from edgecompress.data import DetectionSplit, load_split
from edgecompress.errors import InputError
from edgecompress.models.yolo import YoloDetector, load_detector
from edgecompress.report import Report
from edgecompress.report.render import render
from edgecompress.report.schema import CalibrationInfo, DataInfo, ModelInfo
from edgecompress.stage_progress import FinishedStage, StageProgress, progress_key
from edgecompress.stage_rows import MeasuredRuntime, measure_rows
from edgecompress.ui import foreign_output, status

if TYPE_CHECKING:
    from edgecompress.calibration_set import CalibrationSet


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
    work_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    stage_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    resume: bool = False
    calibration_set: CalibrationSet | None = None  # from a cache written by `edgecompress calibrate`
    # why the TensorRT engine is left to `edgecompress lower` on the device (then ``backend`` is the
    # CPU runtime that measures the rows here); None when the target's backend runs here
    engine_deferred: str | None = None

    @property
    def teacher_checkpoint(self) -> Path:
        """The model as it was before compression (the distillation teacher)."""
        return self.detector.checkpoint


def with_latency_budget(recipe: Recipe, budget_ms: float) -> Recipe:
    """Set ``budget_ms`` on the recipe's bn_prune stage (the ratio is then searched on the target)."""
    indices = [i for i, stage in enumerate(recipe.stages) if stage.get("pass") == "bn_prune"]
    if not indices:
        raise InputError(
            f"--budget-ms needs a recipe with a bn_prune stage; {recipe.name} has none",
            "use --recipe yolo-prune50 (or add a bn_prune stage to yours)",
        )
    return apply_overrides(recipe, [f"stages.{indices[0]}.budget_ms={budget_ms}"])


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
    budget_ms: float | None = None,
    resume: bool = False,
) -> CompileContext:
    """Validate every input and return the context of the compile; raises InputError on bad input."""
    profile = load_target(target)
    the_recipe = apply_overrides(load_recipe(recipe), overrides or [])
    check_family(the_recipe, "yolo")
    if budget_ms is not None:
        the_recipe = with_latency_budget(the_recipe, budget_ms)
    chosen = precision or the_recipe.lower.precision or profile.default_precision
    if chosen not in profile.precisions:
        raise InputError(
            f"target {profile.name} does not offer precision {chosen}",
            f"use one of: {', '.join(profile.precisions)}",
        )
    backend, deferred = backend_here(profile, chosen)
    out_dir = Path(out) if out else Path("runs") / f"{Path(model).stem}-{profile.name}"
    check_output_dir(out_dir, force)
    detector = load_detector(model)
    val = load_split(data, "val")
    if len(val.names) != len(detector.names) and not the_recipe.measure.single_cls:
        raise InputError(
            f"{data} has {len(val.names)} classes but the model has {len(detector.names)}",
            "pass the data yaml the model was trained on, or --set measure.single_cls=true",
        )
    if the_recipe.lower.nms_free and not detector.has_one_to_one_head:
        raise InputError(
            f"lower.nms_free needs an end-to-end (one-to-one) head; {Path(model).name} has none",
            "drop lower.nms_free, or compile a YOLO26 / YOLOv10 model",
        )
    size = check_imgsz(imgsz, detector.stride) or the_recipe.measure.imgsz or detector.train_imgsz
    check_dataset(the_recipe, data, val)
    spec, cached = (
        calibration_input(the_recipe.lower.calibration, data, size) if chosen == "int8" else (None, None)
    )
    check_accuracy_guard(the_recipe, profile, chosen, data)
    return CompileContext(
        detector,
        profile,
        the_recipe,
        backend,
        chosen,
        size,
        Path(data),
        val,
        spec,
        out_dir,
        force,
        command,
        resume=resume,
        calibration_set=cached,
        engine_deferred=deferred,
    )


def _lower(
    ctx: CompileContext,
    onnx: Path,
    out_dir: Path,
    precision: str,
    calibration: list | None,
    guard: AccuracyGuard | None = None,
) -> tuple:
    with foreign_output():
        lowered = ctx.backend.lower(onnx, out_dir, ctx.target, precision, calibration, guard)
    return lowered, ctx.backend.load(lowered.model_file, ctx.target, precision)


def _export(ctx: CompileContext, detector: YoloDetector, folder: Path) -> Path:
    with foreign_output():
        lower = ctx.recipe.lower
        return detector.export_onnx(folder, ctx.imgsz, lower.simplify, lower.opset, lower.nms_free)


def _run_stages(ctx: CompileContext, build: Path) -> tuple[YoloDetector, list[MeasuredRuntime]]:
    """Run the recipe stages; each result is saved as a YOLO checkpoint, reloaded and lowered at FP32.

    Finished stages are recorded in the work folder; with ``ctx.resume`` they are reloaded, not rerun.
    """
    from edgecompress.passes import PASSES

    key = progress_key(sha256_file(ctx.detector.checkpoint), ctx.recipe.stages, ctx.imgsz, ctx.data_yaml)
    progress = StageProgress(build, key)
    detector, measured = ctx.detector, []
    for index, stage in enumerate(ctx.recipe.stages, start=1):
        cls = PASSES[stage["pass"]]
        ctx.stage_dir = build / f"stage{index}-{cls.name}"
        done = progress.get(index) if ctx.resume else None
        if done:
            status(f"stage {index}: {cls.name} (finished earlier, reloaded)")
            detector = load_detector(done.checkpoint)
        else:
            status(f"stage {index}: {cls.name}")
            started = time.perf_counter()
            settings = {k: v for k, v in stage.items() if k != "pass"}
            result = cls(cls.Config.model_validate(settings)).run(detector.torch_model, ctx)
            detector = detector.with_model(result.model, ctx.stage_dir / "result.pt")
            done = FinishedStage(
                index, cls.name, str(detector.checkpoint), result.details, time.perf_counter() - started
            )
            progress.record(done)
        onnx = _export(ctx, detector, ctx.stage_dir / "onnx")
        _, runtime = _lower(ctx, onnx, ctx.stage_dir / ctx.backend.name, "fp32", None)
        measured.append(
            MeasuredRuntime(f"{index}. {cls.name}", "stage", runtime, detector, done.details, done.wall_s)
        )
    return detector, measured


def _baseline_rows(ctx: CompileContext, build: Path) -> list[MeasuredRuntime]:
    """The original model in PyTorch and, unless it equals the result, lowered at FP32."""
    if not ctx.recipe.measure.baseline:
        return []
    original = ctx.detector
    rows = [
        MeasuredRuntime(
            "original",
            "original",
            original.torch_runtime(ctx.target.threads, ctx.recipe.lower.nms_free),
            original,
            None,
        )
    ]
    if ctx.precision != "fp32" or ctx.recipe.stages:
        status(f"lowering baseline: {ctx.backend.name} fp32")
        started = time.perf_counter()
        onnx = _export(ctx, original, build / "onnx")
        _, runtime = _lower(ctx, onnx, build / "baseline", "fp32", None)
        rows.append(
            MeasuredRuntime("baseline", "baseline", runtime, original, None, time.perf_counter() - started)
        )
    return rows


def _lower_result(ctx: CompileContext, final: YoloDetector, build: Path, art: Path) -> tuple:
    """Lower the final model at the chosen precision into the artifact (row, ONNX, files, calibration)."""
    from edgecompress.calibration_set import build_calibration_set

    calib = None
    if ctx.precision == "int8":
        assert ctx.calibration is not None
        calib = ctx.calibration_set or build_calibration_set(str(ctx.data_yaml), ctx.calibration, ctx.imgsz)
    status(f"lowering result: {ctx.backend.name} {ctx.precision}")
    started = time.perf_counter()
    onnx = _export(ctx, final, build / "final-onnx")
    guard = accuracy_guard(ctx) if ctx.precision == "int8" else None
    if ctx.engine_deferred:
        lowered, runtime = _prepare_tensorrt_onnx(ctx, onnx, art, calib.inputs if calib else None)
    else:
        lowered, runtime = _lower(
            ctx, onnx, art / ctx.backend.name, ctx.precision, calib.inputs if calib else None, guard
        )
    if result := lowered.details.get("accuracy_guard"):
        status(
            f"accuracy guard: mAP50-95 fp32 {result['fp32']:.4f}, int8 PTQ {result['int8_ptq']:.4f}, "
            f"result {result['result']:.4f} on {result['images']} {result['split']} images; "
            f"{len(result['reverted_layers'])} layers back to float; max_drop {result['max_drop']} "
            + ("met" if result["met"] else "NOT met")
        )
    row = MeasuredRuntime("result", "result", runtime, final, lowered.details, time.perf_counter() - started)
    return row, onnx, lowered, calib


def _prepare_tensorrt_onnx(ctx: CompileContext, onnx: Path, art: Path, calibration: list | None) -> tuple:
    """Write ``tensorrt/model.onnx`` (Q/DQ for INT8) and load it on ONNX Runtime CPU for the result row."""
    from edgecompress.backends.tensorrt_onnx import prepare_onnx

    status(f"TensorRT engine deferred to the device ({ctx.engine_deferred}); measuring on ONNX Runtime CPU")
    with foreign_output():
        lowered = prepare_onnx(onnx, art / "tensorrt", ctx.precision, calibration)
    measured = "int8" if ctx.precision == "int8" else "fp32"  # ONNX Runtime runs the FP32 ONNX as is
    lowered.details.update(
        {
            "engine": "pending: build it on the device with `edgecompress lower ARTIFACT`",
            "engine_precision": ctx.precision,
            "tensorrt_onnx": "tensorrt/model.onnx",
            "measured_here": f"the TensorRT-ready ONNX on ONNX Runtime CPU ({measured})",
        }
    )
    return lowered, ctx.backend.load(lowered.model_file, ctx.target, measured)


def _write_files(ctx: CompileContext, art: Path, final: YoloDetector, onnx: Path, lowered: Any) -> None:
    """Copy the models and write the recipe, target and manifest into the artifact."""
    shutil.copyfile(onnx, art / "model.onnx")
    shutil.copyfile(final.checkpoint, art / "model.pt")
    (art / "recipe.yaml").write_text(yaml.safe_dump(ctx.recipe.model_dump(), sort_keys=False))
    (art / "target.yaml").write_text(yaml.safe_dump(ctx.target.model_dump(), sort_keys=False))
    model_file = lowered.model_file.relative_to(art).as_posix()
    manifest = Manifest("yolo", ctx.backend.name, ctx.precision, model_file, ctx.imgsz, final.names)
    if ctx.target.backend == "tensorrt":
        manifest.backend, manifest.onnx_file = "tensorrt", "tensorrt/model.onnx"
        manifest.engine_pending = bool(ctx.engine_deferred)
        manifest.model_file = "tensorrt/model.engine"
        manifest.built_with = dict(lowered.details.get("built_with", {}))
    manifest.write(art)


def _report(ctx: CompileContext, rows: list, data_info: Any, calib: Any, files: dict, wall: float) -> Report:
    original = ctx.detector
    calibration = None
    if calib and ctx.calibration:
        calibration = CalibrationInfo(
            spec=ctx.calibration.name,
            split=ctx.calibration.split,
            count=len(calib.inputs),
            images_sha256=calib.images_sha256,
        )
    return Report(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        command=ctx.command or " ".join(sys.argv),
        model=ModelInfo(
            source=str(original.checkpoint),
            sha256=sha256_file(original.checkpoint),
            family="yolo",
            task="detect",
            names=original.names,
            imgsz=ctx.imgsz,
        ),
        target=ctx.target.model_dump(),
        recipe=ctx.recipe.model_dump(),
        precision=ctx.precision,
        environment=environment(),
        data=data_info,
        calibration=calibration,
        rows=rows,
        artifact_files=files,
        total_wall_s=wall,
    )


def run(ctx: CompileContext) -> Path:
    """Run the compile described by ``ctx`` and return the artifact folder.

    Intermediate files live in ``<out>.work/``; it is kept after a failure of a compile with stages
    (for ``--resume``) and removed otherwise.
    """
    with output_lock(ctx.out):
        return _run_locked(ctx)


def _run_locked(ctx: CompileContext) -> Path:
    started = time.perf_counter()
    build = ctx.out.resolve().with_name(f"{ctx.out.name}.work")
    if not ctx.resume:
        shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True, exist_ok=True)
    ctx.work_dir = build
    try:
        with atomic_directory(ctx.out, ctx.force) as art:
            measured = _baseline_rows(ctx, build)
            final, stage_rows = _run_stages(ctx, build)
            result_row, onnx, lowered, calib = _lower_result(ctx, final, build, art)
            rows, data_info = measure_rows(ctx, [*measured, *stage_rows, result_row])
            _write_files(ctx, art, final, onnx, lowered)
            files = {p.relative_to(art).as_posix(): sha256_file(p) for p in lowered.files}
            report = _report(ctx, rows, data_info, calib, files, time.perf_counter() - started)
            report.write(art / "report.json")
            render(report, art)
            write_checksums(art)
    except BaseException:
        if not ctx.recipe.stages:
            shutil.rmtree(build, ignore_errors=True)
        raise
    shutil.rmtree(build, ignore_errors=True)
    return ctx.out


def compile_model(**kwargs: Any) -> Path:
    """Validate, then compile; see :func:`plan` for the arguments."""
    return run(plan(**kwargs))


__all__ = ["CompileContext", "DataInfo", "Runtime", "compile_model", "plan", "run"]
