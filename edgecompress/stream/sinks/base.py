"""What a sink receives and the interface every sink implements."""

from __future__ import annotations

from dataclasses import dataclass

from edgecompress.runtime.postprocess import Detections
from edgecompress.stream.capture import Frame


@dataclass
class FrameResult:
    """One processed frame: the frame, its detections and how long inference took."""

    frame: Frame
    detections: Detections
    infer_seconds: float
    latency_seconds: float  # capture → detections ready


class Sink:
    """Receives every processed frame in order; ``stop_requested`` asks the runner to stop (window closed)."""

    name = "sink"
    stop_requested = False

    def send(self, result: FrameResult) -> None:
        """Handle one processed frame."""
        raise NotImplementedError

    def close(self) -> None:
        """Flush and release; called once at the end of the run."""
