"""mAP of any runtime: one predict path (shared letterbox + NMS) scored by Ultralytics' metric code."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgecompress.backends.base import Runtime
from edgecompress.data import DetectionSplit
from edgecompress.runtime.postprocess import is_end_to_end, postprocess
from edgecompress.runtime.preprocess import preprocess, read_image
from edgecompress.ui import track


@dataclass
class Accuracy:
    """Box mAP on one split."""

    map50: float
    map50_95: float
    images: int
    instances: int


def _ground_truth_xyxy(
    split: DetectionSplit, image_path, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    classes, xywh = split.labels(image_path)
    height, width = shape
    scale = np.array([width, height, width, height], dtype=np.float32)
    boxes = xywh * scale
    xyxy = np.concatenate([boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, :2] + boxes[:, 2:] / 2], axis=1)
    return classes, xyxy


def _image_stats(
    runtime: Runtime,
    split: DetectionSplit,
    image_path: Path,
    imgsz: int,
    conf: float,
    iou: float,
    single_cls: bool,
    matcher: Any,
) -> dict:
    """Predict one image through the shared letterbox + NMS and match it to its ground truth."""
    import torch
    from ultralytics.utils.metrics import box_iou

    image = read_image(image_path)
    batch, infos = preprocess([image], imgsz)
    raw = runtime(batch)
    if single_cls and is_end_to_end(raw, len(split.names)):
        raw = raw.copy()
        raw[..., 5] = 0
    elif single_cls:
        raw = np.concatenate([raw[:, :4], raw[:, 4:].max(1, keepdims=True)], axis=1)
    det = postprocess(raw, infos, split.names, conf=conf, iou=iou, max_det=300, multi_label=True)[0]
    gt_cls, gt_xyxy = _ground_truth_xyxy(split, image_path, image.shape[:2])
    if single_cls:  # the ground truth too: every box is class 0, as in Ultralytics' val
        gt_cls = np.zeros_like(gt_cls)
    if len(gt_cls) and len(det):
        ious = box_iou(torch.from_numpy(gt_xyxy), torch.from_numpy(det.boxes))
        tp = matcher.match_predictions(
            torch.from_numpy(det.class_ids), torch.from_numpy(gt_cls), ious
        ).numpy()
    else:
        tp = np.zeros((len(det), 10), dtype=bool)
    return {
        "tp": tp,
        "conf": det.scores,
        "pred_cls": det.class_ids,
        "target_cls": gt_cls,
        "target_img": np.unique(gt_cls),
        "im_name": Path(image_path).name,
    }


def _metrics(names: list[str], stats: list[dict]) -> Any:
    from ultralytics.utils.metrics import DetMetrics

    metrics = DetMetrics(names=dict(enumerate(names)))
    for item in stats:
        metrics.update_stats(item)
    metrics.process()
    return metrics


def evaluate_images(
    runtime: Runtime,
    split: DetectionSplit,
    images: Sequence[Path],
    imgsz: int,
    conf: float = 0.001,
    iou: float = 0.7,
    label: str = "",
    single_cls: bool = False,
    per_image: bool = False,
    progress: bool = True,
) -> tuple[Accuracy, list[float] | None]:
    """Score ``runtime`` on ``images`` of ``split``; with ``per_image`` also each image's own mAP50-95.

    The per-image values are what accuracy-controlled quantization ranks images by; ``progress`` False
    shows no progress bar (for calls made inside another library's progress display).
    """
    import tempfile

    from ultralytics.models.yolo.detect import DetectionValidator

    # only its box matching is used; given no folder, it would create runs/detect/train* for every call
    with tempfile.TemporaryDirectory(prefix="ec-val-") as folder:
        matcher = DetectionValidator(save_dir=Path(folder), args={"task": "detect", "plots": False})
        stats = [
            _image_stats(runtime, split, Path(p), imgsz, conf, iou, single_cls, matcher)
            for p in (track(list(images), f"mAP {label}".strip()) if progress else images)
        ]
    box = _metrics(split.names, stats).box
    instances = sum(len(s["target_cls"]) for s in stats)
    values = [float(_metrics(split.names, [s]).box.map) for s in stats] if per_image else None
    return Accuracy(float(box.map50), float(box.map), len(stats), instances), values


def evaluate(
    runtime: Runtime,
    split: DetectionSplit,
    imgsz: int,
    conf: float = 0.001,
    iou: float = 0.7,
    label: str = "",
    single_cls: bool = False,
) -> Accuracy:
    """Score ``runtime`` on every image of ``split`` with Ultralytics' matching and AP code.

    ``single_cls`` scores every prediction as class 0 and NMS ignores classes, as Ultralytics'
    ``val(single_cls=True)`` does (e.g. a two-class person detector on person boxes).
    """
    return evaluate_images(runtime, split, split.images, imgsz, conf, iou, label, single_cls)[0]


def map50_95_metric(
    split: DetectionSplit, imgsz: int, conf: float = 0.001, iou: float = 0.7, single_cls: bool = False
) -> Callable[[Runtime, Sequence[Path]], tuple[float, list[float]]]:
    """``metric(runtime, images) -> (mAP50-95, per-image mAP50-95)`` on images of ``split``, no progress bar.

    The validation function of accuracy-controlled quantization and of the sensitivity ranking.
    """

    def metric(runtime: Runtime, images: Sequence[Path]) -> tuple[float, list[float]]:
        acc, values = evaluate_images(
            runtime, split, images, imgsz, conf, iou, single_cls=single_cls, per_image=True, progress=False
        )
        return acc.map50_95, values or []

    return metric
