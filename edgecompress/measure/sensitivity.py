"""``edgecompress sensitivity``: which layers lose the most mAP50-95 when quantized to INT8 alone."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from edgecompress.errors import BackendUnavailable, InputError

if TYPE_CHECKING:
    from edgecompress.backends.openvino_sensitivity import SensitivityResult


def layer_sensitivity(
    model: str | Path,
    data: str | Path,
    target: str | Path = "x86-cpu",
    calibration: str | Path = "default",
    imgsz: int | None = None,
    images: int = 50,
    pattern: str | None = None,
    seed: int = 0,
) -> SensitivityResult:
    """Quantize each quantizable layer of ``model`` alone (OpenVINO, NNCF) and rank by mAP50-95 loss.

    Scored on a seeded subset of ``images`` val images with the compile's predict path and metric;
    ``pattern`` (a regex) restricts the layers.
    """
    from edgecompress.backends import get_backend
    from edgecompress.calibration_set import build_calibration_set, select_images
    from edgecompress.config import load_calibration_spec, load_target
    from edgecompress.config.calibration import CalibrationSpec
    from edgecompress.data import load_split
    from edgecompress.models.yolo import load_detector

    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise InputError(f"--layers {pattern!r} is not a regular expression: {exc}", "fix it") from exc
    profile = load_target(target)
    if profile.backend != "openvino" or "int8" not in profile.precisions:
        raise InputError(
            f"sensitivity runs on an OpenVINO INT8 target, not {profile.name} ({profile.backend})",
            "use --target x86-cpu",
        )
    if reason := get_backend(profile.backend).available():
        raise BackendUnavailable(f"target {profile.name} needs openvino: {reason}", "pip install openvino")
    spec = load_calibration_spec(calibration)
    detector = load_detector(model)
    val = load_split(data, "val")
    if len(val.names) != len(detector.names):
        raise InputError(
            f"{data} has {len(val.names)} classes but the model has {len(detector.names)}",
            "pass the data yaml the model was trained on",
        )
    size = imgsz or detector.train_imgsz
    calib = build_calibration_set(data, spec, size)
    subset = CalibrationSpec(name="sensitivity", split="val", count=images, seed=seed)
    chosen = select_images(val.images, subset)
    return _rank(detector, calib.inputs, val, chosen, size, pattern, profile.threads)


def _rank(detector, calibration, val, images, imgsz, pattern, threads) -> SensitivityResult:
    import openvino as ov

    from edgecompress.backends.openvino import decode_scope_names
    from edgecompress.backends.openvino_sensitivity import rank_layers
    from edgecompress.measure.accuracy import map50_95_metric
    from edgecompress.ui import foreign_output, status

    with tempfile.TemporaryDirectory(prefix="ec-sensitivity-") as tmp, foreign_output():
        ov_model = ov.convert_model(str(detector.export_onnx(Path(tmp), imgsz)))
    status(f"ranking layers on {len(images)} val images at {imgsz} ({len(calibration)} calibration images)")
    with foreign_output():
        result = rank_layers(
            ov_model,
            calibration,
            decode_scope_names(ov_model),
            map50_95_metric(val, imgsz),
            images,
            pattern,
            threads,
        )
    if not result.rows:
        raise InputError(f"no quantizable layer matches --layers {pattern!r}", "loosen the pattern")
    return result


def format_table(result: SensitivityResult, top: int | None = None) -> str:
    """Plain-text ranking: one line per layer, largest loss first."""
    lines = [
        f"mAP50-95 on {result.images} val images: fp32 {result.fp32:.4f}, every layer int8 "
        f"{result.int8_all:.4f} (loss {result.fp32 - result.int8_all:+.4f})",
        f"{'rank':>4}  {'loss':>8}  {'mAP50-95':>8}  layer (only it int8)",
    ]
    for rank, row in enumerate(result.rows[:top] if top else result.rows, start=1):
        lines.append(f"{rank:>4}  {row.loss:>8.4f}  {row.map50_95:>8.4f}  {row.layer}")
    return "\n".join(lines)
