"""Input checks of a detector compile: the backend that runs here, calibration, accuracy guard, machine."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgecompress.backends import Backend, get_backend
from edgecompress.backends.base import AccuracyGuard, QuantizationChoice
from edgecompress.config import Recipe, TargetProfile, load_calibration_spec
from edgecompress.config.calibration import CalibrationSpec
from edgecompress.data import DetectionSplit, load_split
from edgecompress.errors import BackendUnavailable, InputError
from edgecompress.measure.environment import cpu_model, isa_flags, package_versions

if TYPE_CHECKING:
    from edgecompress.calibration_set import CalibrationSet
    from edgecompress.families.base import CompilePlan


def backend_here(profile: TargetProfile, precision: str) -> tuple[Backend, Backend | None, str | None]:
    """The backend that measures here, the one that builds on the device later (or None), and why.

    A target whose backend builds on the device (TensorRT) compiles on any machine: the rows are
    measured on ONNX Runtime CPU and the artifact holds what the device builds from; `edgecompress
    lower` builds it there.
    """
    backend = get_backend(profile.backend)
    backend.check_target(profile, precision)
    reason = backend.available()
    if reason is None:
        check_precision_here(profile, precision)
        return backend, None, None
    if not (profile.build_on_device and backend.builds_on_device):
        raise BackendUnavailable(
            f"target {profile.name} needs {profile.backend}: {reason}",
            "install it, or pick another target (`edgecompress targets`)",
        )
    cpu = get_backend("onnxruntime")
    if cpu_reason := cpu.available():
        raise BackendUnavailable(
            f"target {profile.name} needs onnxruntime here: {cpu_reason}", "pip install onnxruntime"
        )
    backend.check_prepare_here(precision)
    return cpu, backend, reason


MAX_IMGSZ = 4096  # beyond this a single letterboxed image no longer fits an edge device's memory


def check_imgsz(imgsz: int | None, stride: int) -> int | None:
    """``--imgsz`` as given, refused unless a positive multiple of the model's stride up to MAX_IMGSZ."""
    if imgsz is None:
        return None
    if imgsz <= 0 or imgsz % stride or imgsz > MAX_IMGSZ:
        nearest = min(max(stride, round(imgsz / stride) * stride), MAX_IMGSZ)
        raise InputError(
            f"--imgsz {imgsz} is not a multiple of the model's stride {stride} "
            f"between {stride} and {MAX_IMGSZ}",
            f"use e.g. --imgsz {nearest}, or leave it out for the model's training size",
        )
    return imgsz


def check_precision_here(profile: TargetProfile, precision: str) -> None:
    """Refuse bf16 on a CPU that cannot run it (OpenVINO would silently run f32 and the row would lie)."""
    from edgecompress.measure.environment import cpu_has_bf16, isa_flags

    if precision == "bf16" and profile.device.upper().startswith("CPU") and not cpu_has_bf16():
        raise InputError(
            "precision bf16 needs a CPU with AVX512_BF16 or AMX; this one has "
            + (", ".join(isa_flags()) or "neither"),
            "use --precision fp32 or int8 here, or compile on the CPU the model will run on",
        )


def check_dataset(recipe: Recipe, data: str | Path, val: DetectionSplit) -> None:
    """Check every image and label line the compile will read, before any expensive work starts.

    The val split always (it is scored); the train split's images where a stage re-estimates
    statistics on them, and its labels too where a stage trains.
    """
    from edgecompress.dataset_check import check_split
    from edgecompress.passes import PASSES

    check_split(val)
    uses = set()
    for stage in recipe.stages:
        cls = PASSES[stage["pass"]]
        config = cls.Config.model_validate({k: v for k, v in stage.items() if k != "pass"})
        uses.add(cls(config).train_split_use())
    if uses - {""}:
        train = load_split(data, "train", require_labels="labels" in uses)
        check_split(train, labels="labels" in uses)


def calibration_input(
    name: str, data: str | Path, imgsz: int
) -> tuple[CalibrationSpec, CalibrationSet | None]:
    """The calibration definition, or a cache (``.npz`` from ``edgecompress calibrate``) and its spec."""
    from edgecompress.calibration_set import CalibrationSet

    if not name.endswith(".npz"):
        from edgecompress.dataset_check import check_split

        spec = load_calibration_spec(name)
        check_split(load_split(data, spec.split, require_labels=False), labels=False)
        return spec, None
    cached = CalibrationSet.load(name)
    size = cached.imgsz
    if size != imgsz:
        raise InputError(
            f"calibration cache {name} holds {size}x{size} inputs; the compile runs at {imgsz}",
            f"rebuild it with `edgecompress calibrate --imgsz {imgsz}`, or pass --imgsz {size}",
        )
    return cached.spec or CalibrationSpec(name=Path(name).stem), cached


def check_accuracy_guard(recipe: Recipe, profile: TargetProfile, precision: str, data: str | Path) -> None:
    guard = recipe.lower.accuracy_guard
    if guard.max_drop is None:
        return
    if precision != "int8" or profile.backend != "openvino":
        raise InputError(
            f"lower.accuracy_guard needs int8 on an OpenVINO target, not {precision} on {profile.name}",
            "use --target x86-cpu --precision int8, or drop lower.accuracy_guard.max_drop",
        )
    if guard.split != "val":
        load_split(data, guard.split)


def accuracy_guard(plan: CompilePlan, val: DetectionSplit) -> AccuracyGuard | None:
    """The validation the guarded INT8 lowering runs: mAP50-95 on (a seeded subset of) a labelled split."""
    from edgecompress.calibration_set import select_images
    from edgecompress.measure.accuracy import map50_95_metric

    settings, measure = plan.recipe.lower.accuracy_guard, plan.recipe.measure
    if settings.max_drop is None:
        return None
    split = val if settings.split == "val" else load_split(plan.data, settings.split)
    count = settings.images or len(split.images)
    spec = CalibrationSpec(name="accuracy-guard", split=settings.split, count=count, seed=settings.seed)
    metric = map50_95_metric(split, plan.imgsz, measure.conf, measure.iou, measure.single_cls)
    info = {"metric": "mAP50-95", "split": settings.split, "seed": settings.seed}
    images = select_images(split.images, spec)
    return AccuracyGuard(settings.max_drop, images, metric, settings.max_reverted, info)


def quantization_choice(plan: CompilePlan) -> QuantizationChoice:
    """The recipe's bias-correction setting; for ``auto``, the seeded labelled train images it is chosen on.

    Seed 1 (the calibration set's is 0); never the val split, which the report scores. A dataset
    whose train split has no labels leaves ``auto`` without images: the backend then uses full.
    """
    from edgecompress.calibration_set import select_images
    from edgecompress.measure.accuracy import map50_95_metric

    lower, measure = plan.recipe.lower, plan.recipe.measure
    if lower.bias_correction != "auto":
        return QuantizationChoice(lower.bias_correction)
    try:
        train = load_split(plan.data, "train")
    except InputError:
        return QuantizationChoice("auto")
    spec = CalibrationSpec(name="bias-correction", split="train", count=lower.bias_correction_images, seed=1)
    metric = map50_95_metric(train, plan.imgsz, measure.conf, measure.iou, measure.single_cls)
    settings = {"metric": "mAP50-95", "split": "train", "seed": 1}
    return QuantizationChoice("auto", select_images(train.images, spec), metric, settings)


def environment() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "isa": isa_flags(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": package_versions(),
    }
