"""Torch, ONNX Runtime and OpenVINO FP32 give the same boxes through the one shared pre/postprocess."""

from pathlib import Path

import numpy as np
import pytest

from edgecompress.backends import get_backend
from edgecompress.config import load_target
from edgecompress.models.yolo import load_detector
from edgecompress.runtime.detector import Detector
from edgecompress.runtime.postprocess import Detections

CONF = 0.25
MARGIN = 0.02  # boxes this close to the threshold may fall on either side of it


def _box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def assert_same_boxes(reference: Detections, other: Detections, what: str, conf: float = CONF) -> int:
    """Every confident reference box has a same-class box in ``other`` with IoU >= 0.99, score within 1e-3."""
    confident = reference.scores >= conf + MARGIN
    iou = _box_iou(reference.boxes[confident], other.boxes) if len(other) else np.zeros((confident.sum(), 0))
    for row, ref_idx in enumerate(np.flatnonzero(confident)):
        same_class = other.class_ids == reference.class_ids[ref_idx]
        candidates = np.flatnonzero(same_class & (iou[row] >= 0.99))
        assert candidates.size, (
            f"{what}: box {reference.boxes[ref_idx]} ({reference.labels[ref_idx]}) unmatched"
        )
        best = candidates[np.argmax(iou[row, candidates])]
        assert abs(other.scores[best] - reference.scores[ref_idx]) <= 1e-3, what
    assert (other.scores >= conf + MARGIN).sum() <= len(reference), f"{what}: extra boxes"
    return int(confident.sum())


def _detectors(checkpoint: Path, workdir: Path, imgsz: int) -> dict[str, Detector]:
    detector = load_detector(checkpoint)
    onnx = detector.export_onnx(workdir, imgsz)
    detectors = {"torch": Detector(detector.torch_runtime(2), imgsz, detector.names, CONF)}
    for target in ("x86-cpu-ort", "x86-cpu"):
        profile = load_target(target)
        backend = get_backend(profile.backend)
        lowered = backend.lower(onnx, workdir / target, profile, "fp32")
        runtime = backend.load(lowered.model_file, profile, "fp32")
        detectors[backend.name] = Detector(runtime, imgsz, detector.names, CONF)
    return detectors


def _check_parity(detectors: dict[str, Detector], images: list[Path]) -> int:
    compared = 0
    for image in images:
        reference = detectors["torch"].predict(image)
        for name in ("onnxruntime", "openvino"):
            compared += assert_same_boxes(
                reference, detectors[name].predict(image), f"{name} on {image.name}"
            )
    return compared


def test_real_photographs_same_boxes_on_every_backend(tmp_path, coco_model, coco128, ultralytics_assets):
    val_images = sorted((coco128.parent / "images" / "val2017").glob("*.jpg"))[:10]
    compared = _check_parity(_detectors(coco_model, tmp_path, 640), [*ultralytics_assets, *val_images])
    assert compared >= 40  # the check ran over many real boxes


def test_demo_val_images_same_boxes_on_every_backend(tmp_path, demo_model, tiny_digits):
    images = sorted((tiny_digits.parent / "images" / "val").glob("*.jpg"))
    compared = _check_parity(_detectors(demo_model, tmp_path, 320), images)
    assert compared >= 20


def test_list_input_gives_list_output(tmp_path, coco_model, ultralytics_assets):
    detector = _detectors(coco_model, tmp_path, 640)["onnxruntime"]
    results = detector.predict([str(p) for p in ultralytics_assets])
    assert isinstance(results, list) and len(results) == 2
    bus = results[0]
    assert "bus" in bus.labels and bus.labels.count("person") >= 3
    height, width = 1080, 810  # bus.jpg
    assert (bus.boxes[:, [0, 2]] <= width).all() and (bus.boxes[:, [1, 3]] <= height).all()


@pytest.mark.parametrize("bad", ["text", b""])
def test_predict_refuses_corrupt_files(tmp_path, bad):
    from edgecompress.errors import InputError
    from edgecompress.runtime.preprocess import read_image

    path = tmp_path / "bad.png"
    path.write_bytes(bad.encode() if isinstance(bad, str) else bad)
    with pytest.raises(InputError):
        read_image(path)
