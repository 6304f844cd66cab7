"""The one postprocess every backend shares: decode the raw head output, NMS, map boxes back.

Two output forms: the one-to-many head's (B, 4 + nc, anchors) of centre boxes and class scores,
decoded and NMS-ed here, and an end-to-end (NMS-free) head's (B, max_det, 6) rows of x1, y1, x2, y2,
score, class, only filtered by score. They are told apart by the second axis: 4 + nc for the former
(the anchors axis is never 6 long, so the two cannot be confused).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgecompress.runtime.preprocess import LetterboxInfo

MAX_CANDIDATES = 30000


@dataclass
class Detections:
    """Boxes (xyxy, original-image pixels), scores and class ids of one image."""

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def labels(self) -> list[str]:
        """Class names of the detections."""
        return [self.names[i] if i < len(self.names) else str(i) for i in self.class_ids.tolist()]

    def to_dict(self) -> dict[str, list]:
        """Plain-Python form for JSON."""
        return {
            "boxes": np.round(self.boxes, 2).tolist(),
            "scores": np.round(self.scores, 4).tolist(),
            "class_ids": self.class_ids.tolist(),
            "labels": self.labels,
        }

    def __repr__(self) -> str:
        items = ", ".join(f"{n} {s:.2f}" for n, s in zip(self.labels, self.scores.tolist(), strict=True))
        return f"Detections({len(self)}: {items})"


def _iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    lt = np.maximum(box[:2], boxes[:, :2])
    rb = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    return inter / (area + areas - inter + 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, max_keep: int) -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices in descending score order."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size and len(keep) < max_keep:
        best = order[0]
        keep.append(int(best))
        rest = order[1:]
        order = rest[_iou_one_to_many(boxes[best], boxes[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def decode_image(
    raw: np.ndarray, conf: float, iou: float, max_det: int = 300, multi_label: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode one image's raw output (4+nc, N: cx, cy, w, h in input pixels, class scores) into xyxy boxes.

    ``multi_label`` keeps every class above ``conf`` for a box (as Ultralytics' validator does);
    otherwise only each box's best class. NMS is per class.
    """
    preds = raw.T.astype(np.float32, copy=False)
    xywh, class_scores = preds[:, :4], preds[:, 4:]
    if multi_label:
        box_idx, cls = np.nonzero(class_scores > conf)
        score = class_scores[box_idx, cls]
    else:
        cls = class_scores.argmax(1)
        score = class_scores[np.arange(len(cls)), cls]
        box_idx = np.nonzero(score > conf)[0]
        cls, score = cls[box_idx], score[box_idx]
    if score.size > MAX_CANDIDATES:
        top = np.argsort(-score, kind="stable")[:MAX_CANDIDATES]
        box_idx, cls, score = box_idx[top], cls[top], score[top]
    centre, size = xywh[box_idx, :2], xywh[box_idx, 2:]
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    offset = boxes + cls[:, None].astype(np.float32) * 7680.0  # separate classes for one NMS call
    keep = nms(offset, score, iou, max_det)
    return boxes[keep], score[keep], cls[keep].astype(np.int64)


def is_end_to_end(raw: np.ndarray, nc: int) -> bool:
    """Whether a batch output (B, ·, ·) is an NMS-free head's (B, max_det, 6) rather than (B, 4 + nc, N)."""
    return raw.ndim == 3 and raw.shape[1] != 4 + nc and raw.shape[2] == 6


def decode_end_to_end(
    rows: np.ndarray, conf: float, max_det: int = 300
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's NMS-free rows (K, 6: xyxy in input pixels, score, class) above ``conf``, best first."""
    rows = rows.astype(np.float32, copy=False)
    kept = rows[rows[:, 4] > conf]
    kept = kept[np.argsort(-kept[:, 4], kind="stable")[:max_det]]
    return kept[:, :4], kept[:, 4], kept[:, 5].round().astype(np.int64)


def scale_boxes(boxes: np.ndarray, info: LetterboxInfo) -> np.ndarray:
    """Map xyxy boxes from network-input pixels back to original-image pixels, clipped to the image."""
    out = boxes.copy()
    out[:, [0, 2]] = (out[:, [0, 2]] - info.pad_x) / info.gain
    out[:, [1, 3]] = (out[:, [1, 3]] - info.pad_y) / info.gain
    height, width = info.original_shape
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
    return out


def postprocess(
    raw: np.ndarray,
    infos: list[LetterboxInfo],
    names: list[str],
    conf: float = 0.25,
    iou: float = 0.7,
    max_det: int = 300,
    multi_label: bool = False,
) -> list[Detections]:
    """Turn a raw batch output (B, 4+nc, N) or (B, max_det, 6) into one :class:`Detections` per image."""
    end_to_end = is_end_to_end(raw, len(names))
    results = []
    for image_raw, info in zip(raw, infos, strict=True):
        if end_to_end:
            boxes, scores, class_ids = decode_end_to_end(image_raw, conf, max_det)
        else:
            boxes, scores, class_ids = decode_image(image_raw, conf, iou, max_det, multi_label)
        results.append(Detections(scale_boxes(boxes, info), scores, class_ids, names))
    return results
