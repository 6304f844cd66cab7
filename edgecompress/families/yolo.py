"""The YOLO detector family's compile steps: input checks, ONNX lowering (INT8, built on device), mAP rows."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgecompress.artifact import Manifest
from edgecompress.backends import Backend
from edgecompress.backends.openvino_input import FLOAT_NCHW, UINT8_NHWC, use_uint8_image_input
from edgecompress.compile_inputs import (
    accuracy_guard,
    backend_here,
    calibration_input,
    check_accuracy_guard,
    check_dataset,
    check_imgsz,
    quantization_choice,
)
from edgecompress.config import Recipe, TargetProfile
from edgecompress.config.calibration import CalibrationSpec
from edgecompress.data import DetectionSplit, load_split
from edgecompress.errors import InputError
from edgecompress.families.base import CompileFamily, CompilePlan, LoweredModel, Measured
from edgecompress.families.yolo_rows import measure_rows
from edgecompress.models.yolo import YoloAdapter, load_detector
from edgecompress.passes.base import PassContext
from edgecompress.report.schema import CalibrationInfo, ModelInfo
from edgecompress.ui import foreign_output, status

if TYPE_CHECKING:
    from edgecompress.calibration_set import CalibrationSet
    from edgecompress.report.schema import DataInfo, StageRow


@dataclass
class YoloCompile(CompileFamily):
    """A detector compile's own inputs: the scored split, the backend here, calibration."""

    name = "yolo"

    val: DetectionSplit
    backend: Backend
    calibration: CalibrationSpec | None = None
    calibration_set: CalibrationSet | None = None  # from a cache written by `edgecompress calibrate`
    # the target's backend where it builds on the device (TensorRT: ``backend`` is then the CPU runtime
    # that measures the rows here) and why it cannot build here; None when the target's backend runs here
    device_backend: Backend | None = None
    build_deferred: str | None = None

    def pass_context(self, plan: CompilePlan, adapter: Any, work: Path) -> PassContext:
        return self.common_context(
            plan,
            adapter,
            work,
            candidate_latency=lambda model, folder: self.candidate_latency(plan, adapter, model, folder),
        )

    def candidate_latency(
        self, plan: CompilePlan, adapter: Any, model: Any, folder: Path
    ) -> tuple[float, str]:
        """Lower a candidate ``model`` at FP32 for the target and time it there (p50 ms, where)."""
        from edgecompress.measure.latency import measure_latency

        candidate = adapter.with_model(model, folder / "model.pt")
        runtime = self.lower(plan, candidate, folder).runtime
        lat = plan.target.latency
        batch = np.zeros((lat.batch, 3, plan.imgsz, plan.imgsz), dtype=np.float32)
        p50 = measure_latency({"candidate": runtime}, batch, lat.warmup, lat.iterations)["candidate"].p50_ms
        return p50, f"{self.backend.name} fp32"

    def torch_runtime(self, plan: CompilePlan, adapter: Any) -> Any:
        return adapter.torch_runtime(plan.target.threads, plan.recipe.lower.nms_free)

    def export(self, plan: CompilePlan, adapter: Any, folder: Path) -> Path:
        """The detector's ONNX graph (Ultralytics' exporter), at the compile's size and lowering settings."""
        lower = plan.recipe.lower
        with foreign_output():
            return adapter.export_onnx(folder, plan.imgsz, lower.simplify, lower.opset, lower.nms_free)

    def takes_uint8_images(self, plan: CompilePlan) -> bool:
        """Whether the lowered detector takes the uint8 image (``lower.input_format``; auto: on OpenVINO)."""
        setting = plan.recipe.lower.input_format
        openvino_here = self.backend.name == "openvino" and not self.device_backend
        return setting == UINT8_NHWC or (setting == "auto" and openvino_here)

    def with_input_format(self, plan: CompilePlan, lowered: Any) -> None:
        """Rewrite an OpenVINO IR to take the uint8 image where the plan asks for it; record the input."""
        if self.takes_uint8_images(plan):
            use_uint8_image_input(lowered.model_file)
            lowered.details["input_format"] = UINT8_NHWC
        else:
            lowered.details["input_format"] = FLOAT_NCHW

    def lower(self, plan: CompilePlan, adapter: Any, folder: Path) -> LoweredModel:
        onnx = self.export(plan, adapter, folder / "onnx")
        with foreign_output():
            lowered = self.backend.lower(onnx, folder / self.backend.name, plan.target, "fp32", None)
        self.with_input_format(plan, lowered)
        return LoweredModel(lowered, self.backend.load(lowered.model_file, plan.target, "fp32"))

    def lower_result(self, plan: CompilePlan, adapter: Any, build: Path, art: Path) -> LoweredModel:
        from edgecompress.calibration_set import build_calibration_set

        calib = None
        if plan.precision == "int8":
            assert self.calibration is not None
            calib = self.calibration_set or build_calibration_set(
                str(plan.data), self.calibration, plan.imgsz
            )
        status(f"lowering result: {self.backend.name} {plan.precision}")
        onnx = self.export(plan, adapter, build / "final-onnx")
        inputs = calib.inputs if calib else None
        if self.device_backend:
            result = self._prepare_for_device(plan, onnx, art, inputs)
        else:
            guard = accuracy_guard(plan, self.val) if plan.precision == "int8" else None
            choice = quantization_choice(plan) if plan.precision == "int8" else None
            with foreign_output():
                lowered = self.backend.lower(
                    onnx, art / self.backend.name, plan.target, plan.precision, inputs, guard, choice=choice
                )
            self.with_input_format(plan, lowered)
            result = LoweredModel(lowered, self.backend.load(lowered.model_file, plan.target, plan.precision))
        if chosen := result.lowered.details.get("bias_correction_choice"):
            scores = ", ".join(f"{name} {value:.4f}" for name, value in chosen["scores"].items())
            status(
                f"bias correction: {chosen['chosen']} (mAP50-95 {scores} on {chosen['images']} "
                f"{chosen['split']} images)"
            )
        if guarded := result.lowered.details.get("accuracy_guard"):
            status(
                f"accuracy guard: mAP50-95 fp32 {guarded['fp32']:.4f}, int8 PTQ {guarded['int8_ptq']:.4f}, "
                f"result {guarded['result']:.4f} on {guarded['images']} {guarded['split']} images; "
                f"{len(guarded['reverted_layers'])} layers back to float; max_drop {guarded['max_drop']} "
                + ("met" if guarded["met"] else "NOT met")
            )
        shutil.copyfile(onnx, art / "model.onnx")
        if calib and self.calibration:
            result.calibration = CalibrationInfo(
                spec=self.calibration.name,
                split=self.calibration.split,
                count=len(calib.inputs),
                images_sha256=calib.images_sha256,
            )
        return result

    def _prepare_for_device(
        self, plan: CompilePlan, onnx: Path, art: Path, calibration: list | None
    ) -> LoweredModel:
        """Write what the device builds from; load its ONNX on the backend here for the result row."""
        device = self.device_backend
        assert device is not None
        here = self.backend.name
        status(f"{device.name} build deferred to the device ({self.build_deferred}); measuring on {here}")
        with foreign_output():
            lowered = device.prepare_for_device(onnx, art / device.name, plan.precision, calibration)
        measured = "int8" if plan.precision == "int8" else "fp32"  # the CPU runtime runs the FP32 ONNX as is
        lowered.details["measured_here"] = f"the {device.name}-ready ONNX on {self.backend.name} ({measured})"
        return LoweredModel(lowered, self.backend.load(lowered.model_file, plan.target, measured))

    def measure(self, plan: CompilePlan, measured: list[Measured]) -> tuple[list[StageRow], DataInfo | None]:
        return measure_rows(plan, self.val, measured, stand_in=bool(self.device_backend))

    def write_files(self, plan: CompilePlan, art: Path, final: Any, result: LoweredModel) -> None:
        shutil.copyfile(final.checkpoint, art / "model.pt")
        lowered = result.lowered
        model_file = lowered.model_file.relative_to(art).as_posix()
        backend = self.device_backend or self.backend
        manifest = Manifest("yolo", backend.name, plan.precision, model_file, plan.imgsz, final.names)
        for key, value in backend.manifest_fields(lowered, bool(self.device_backend)).items():
            setattr(manifest, key, value)
        manifest.write(art)

    def model_info(self, plan: CompilePlan) -> ModelInfo:
        from edgecompress.artifact import sha256_file

        original = plan.adapter
        return ModelInfo(
            source=str(original.checkpoint),
            sha256=sha256_file(original.checkpoint),
            family="yolo",
            task="detect",
            names=original.names,  # type: ignore[attr-defined]
            imgsz=plan.imgsz,
        )


def plan_yolo(
    model: str | Path,
    data: str | Path,
    profile: TargetProfile,
    recipe: Recipe,
    precision: str | None,
    imgsz: int | None,
    out: Path,
    force: bool,
) -> tuple[YoloCompile, YoloAdapter, str, int]:
    """Check a detector compile's inputs; return the family's part of the plan, the model, precision, size."""
    from edgecompress.artifact import check_output_dir

    chosen = precision or recipe.lower.precision or profile.default_precision
    if chosen not in profile.precisions:
        raise InputError(
            f"target {profile.name} does not offer precision {chosen}",
            f"use one of: {', '.join(profile.precisions)}",
        )
    backend, device_backend, deferred = backend_here(profile, chosen)
    check_output_dir(out, force)
    detector = load_detector(model)
    val = load_split(data, "val")
    if len(val.names) != len(detector.names) and not recipe.measure.single_cls:
        raise InputError(
            f"{data} has {len(val.names)} classes but the model has {len(detector.names)}",
            "pass the data yaml the model was trained on, or --set measure.single_cls=true",
        )
    if recipe.lower.nms_free and not detector.has_one_to_one_head:
        raise InputError(
            f"lower.nms_free needs an end-to-end (one-to-one) head; {Path(model).name} has none",
            "drop lower.nms_free, or compile a YOLO26 / YOLOv10 model",
        )
    if recipe.lower.input_format == UINT8_NHWC and (device_backend or backend.name != "openvino"):
        raise InputError(
            f"lower.input_format {UINT8_NHWC} is for OpenVINO targets; {profile.name} lowers otherwise",
            "drop lower.input_format, or compile for an OpenVINO target such as x86-cpu",
        )
    size = check_imgsz(imgsz, detector.stride) or recipe.measure.imgsz or detector.train_imgsz
    check_dataset(recipe, data, val)
    spec, cached = (
        calibration_input(recipe.lower.calibration, data, size) if chosen == "int8" else (None, None)
    )
    check_accuracy_guard(recipe, profile, chosen, data)
    return YoloCompile(val, backend, spec, cached, device_backend, deferred), detector, chosen, size


def with_latency_budget(recipe: Recipe, budget_ms: float) -> Recipe:
    """Set ``budget_ms`` on the recipe's bn_prune stage (the ratio is then searched on the target)."""
    from edgecompress.config.recipe import apply_overrides

    indices = [i for i, stage in enumerate(recipe.stages) if stage.get("pass") == "bn_prune"]
    if not indices:
        raise InputError(
            f"--budget-ms needs a recipe with a bn_prune stage; {recipe.name} has none",
            "use --recipe yolo-prune50 (or add a bn_prune stage to yours)",
        )
    return apply_overrides(recipe, [f"stages.{indices[0]}.budget_ms={budget_ms}"])
