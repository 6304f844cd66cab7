"""``--sink display``: an OpenCV window with the boxes drawn; `q` or Esc stops the run."""

from __future__ import annotations

import os
import sys

import numpy as np

from edgecompress.errors import InputError
from edgecompress.runtime.postprocess import Detections
from edgecompress.stream.sinks.base import FrameResult, Sink

_PALETTE = [(56, 56, 255), (151, 157, 255), (31, 112, 255), (29, 178, 255), (49, 210, 207), (10, 249, 72)]


def annotate(image: np.ndarray, detections: Detections) -> np.ndarray:
    """A copy of ``image`` with each box, its label and score drawn."""
    import cv2

    out = image.copy()
    for box, score, cls, label in zip(
        detections.boxes, detections.scores, detections.class_ids, detections.labels, strict=True
    ):
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        color = _PALETTE[int(cls) % len(_PALETTE)]
        cv2.rectangle(out, (x1, y1), (x2, y2), color, 2)
        cv2.putText(
            out, f"{label} {score:.2f}", (x1, max(y1 - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1
        )
    return out


class DisplaySink(Sink):
    """Shows annotated frames in a window (needs a display)."""

    name = "display"
    WINDOW = "edgecompress"

    def __init__(self) -> None:
        if sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        ):
            raise InputError(
                "--sink display needs a display (DISPLAY is not set)", "use --sink json on headless devices"
            )

    def send(self, result: FrameResult) -> None:
        import cv2

        cv2.imshow(self.WINDOW, annotate(result.frame.image, result.detections))
        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
            self.stop_requested = True

    def close(self) -> None:
        import cv2

        cv2.destroyAllWindows()
