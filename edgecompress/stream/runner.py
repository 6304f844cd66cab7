"""The inference loop: take the newest frame, detect, hand the result to every sink, keep the numbers."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from edgecompress.runtime.postprocess import Detections
from edgecompress.stream.capture import CaptureThread, FrameSource, LatestFrameSlot
from edgecompress.stream.sinks.base import FrameResult, Sink
from edgecompress.stream.stats import StreamStats

Infer = Callable[[np.ndarray], Detections]
LIVE_PERIOD_S = 0.5


@dataclass
class RunResult:
    """How a run ended and its numbers: captured = processed + dropped, always."""

    captured: int
    processed: int
    dropped: int
    stopped_by: str | None  # "SIGINT", "SIGTERM", "sink" or None when the source ended
    summary: dict = field(default_factory=dict)
    source_lost: str | None = None  # why a live source stopped delivering (None: it ended, or was stopped)

    @property
    def ended(self) -> str:
        """How the run ended, in words: stopped by ..., source lost (...), or source ended."""
        if self.stopped_by:
            return f"stopped by {self.stopped_by}"
        return f"source lost ({self.source_lost})" if self.source_lost else "source ended"


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event, reason: list[str]) -> Iterator[None]:
    """Turn SIGINT/SIGTERM into ``stop`` for the duration (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        reason.append(signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def live_line(stats: StreamStats, slot: LatestFrameSlot) -> str:
    """The one status line shown while running."""
    live = stats.live()
    return (
        f"frames {stats.processed}  dropped {slot.dropped}  fps {live['fps']:.1f}  "
        f"latency p50 {live['p50_ms']:.1f} ms  p95 {live['p95_ms']:.1f} ms"
    )


def run_stream(
    source: FrameSource,
    infer: Infer,
    sinks: Sequence[Sink],
    drop: bool = True,
    max_frames: int | None = None,
    live: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> RunResult:
    """Run ``source`` through ``infer`` into ``sinks`` until the source ends, a signal or a sink stops it.

    A capture thread fills a one-frame slot; this thread detects on the newest frame (``drop=True``
    drops the frames it could not keep up with and counts them) and passes each result to every sink.
    ``live`` is called with a status line every half second. Sinks are closed at the end.
    """
    stop = stop or threading.Event()
    slot = LatestFrameSlot(drop=drop)
    stats = StreamStats()
    capture = CaptureThread(source, slot, stop, max_frames)
    reason: list[str] = []
    next_live = time.perf_counter() + LIVE_PERIOD_S
    try:
        with stop_on_signals(stop, reason):
            capture.start()
            while not stop.is_set():
                frame = slot.get(stop)
                if frame is None:
                    break
                start = time.perf_counter()
                detections = infer(frame.image)
                done = time.perf_counter()
                result = FrameResult(frame, detections, done - start, done - frame.captured_at)
                for sink in sinks:
                    sink.send(result)
                stats.record(frame.captured_at, done - start, time.perf_counter())
                del frame, result, detections  # hold no frame while waiting for the next
                if any(s.stop_requested for s in sinks):
                    reason.append("sink")
                    stop.set()
                if live is not None and time.perf_counter() >= next_live:
                    live(live_line(stats, slot))
                    next_live = time.perf_counter() + LIVE_PERIOD_S
    finally:
        stop.set()
        capture.join(timeout=10)  # a stream read times out after OPEN_TIMEOUT_MS
        slot.discard()
        for sink in sinks:
            sink.close()
    if capture.error is not None:
        raise capture.error
    summary = stats.summary(slot.put_count, slot.dropped)
    stopped_by = reason[0] if reason else None
    lost = None if stopped_by else source.lost
    return RunResult(slot.put_count, stats.processed, slot.dropped, stopped_by, summary, lost)
