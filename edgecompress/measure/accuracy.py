"""mAP of any runtime: one predict path (shared letterbox + NMS) scored by Ultralytics' metric code."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgecompress.backends.base import Runtime
from edgecompress.data import DetectionSplit
from edgecompress.runtime.postprocess import postprocess
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
    import torch
    from ultralytics.models.yolo.detect import DetectionValidator
    from ultralytics.utils.metrics import DetMetrics, box_iou

    names = dict(enumerate(split.names))
    matcher = DetectionValidator(args={"task": "detect", "plots": False})
    metrics = DetMetrics(names=names)
    instances = 0
    for image_path in track(split.images, f"mAP {label}".strip()):
        image = read_image(image_path)
        batch, infos = preprocess([image], imgsz)
        raw = runtime(batch)
        if single_cls:
            raw = np.concatenate([raw[:, :4], raw[:, 4:].max(1, keepdims=True)], axis=1)
        det = postprocess(raw, infos, split.names, conf=conf, iou=iou, max_det=300, multi_label=True)[0]
        gt_cls, gt_xyxy = _ground_truth_xyxy(split, image_path, image.shape[:2])
        instances += len(gt_cls)
        if len(gt_cls) and len(det):
            ious = box_iou(torch.from_numpy(gt_xyxy), torch.from_numpy(det.boxes))
            tp = matcher.match_predictions(
                torch.from_numpy(det.class_ids), torch.from_numpy(gt_cls), ious
            ).numpy()
        else:
            tp = np.zeros((len(det), 10), dtype=bool)
        metrics.update_stats(
            {
                "tp": tp,
                "conf": det.scores,
                "pred_cls": det.class_ids,
                "target_cls": gt_cls,
                "target_img": np.unique(gt_cls),
                "im_name": image_path.name,
            }
        )
    metrics.process()
    return Accuracy(float(metrics.box.map50), float(metrics.box.map), len(split.images), instances)
