"""single_cls scoring: predictions and ground truth both count as one class (Ultralytics' val)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edgecompress.data import DetectionSplit
from edgecompress.measure.accuracy import evaluate


class _BoxAtCentre:
    """A fake runtime: one 32x32 box in the middle of a 64x64 input, scored for class 0 only."""

    name, precision, version = "fake", "fp32", "0"

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        raw = np.zeros((1, 6, 1), dtype=np.float32)
        raw[0, :4, 0] = [32, 32, 32, 32]
        raw[0, 4, 0] = 0.9
        return raw


def test_single_cls_counts_a_class_0_box_on_a_class_1_label(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    image = tmp_path / "images" / "a.jpg"
    cv2.imwrite(str(image), np.full((64, 64, 3), 127, np.uint8))
    (tmp_path / "labels" / "a.txt").write_text("1 0.5 0.5 0.5 0.5\n")
    split = DetectionSplit(tmp_path / "data.yaml", "val", [image], ["normal", "fall"])
    runtime = _BoxAtCentre()
    assert evaluate(runtime, split, 64, single_cls=True).map50 > 0.99  # type: ignore[arg-type]
    assert evaluate(runtime, split, 64, single_cls=False).map50 < 0.01  # type: ignore[arg-type]
