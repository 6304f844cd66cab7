"""Stream statistics in constant memory: frame counts, FPS, latency percentiles from a log histogram."""

from __future__ import annotations

import math
import time
from collections import deque

import numpy as np

# Latencies from 10 µs to 100 s in 1 % steps: percentiles within 0.5 % in a fixed 13 kB array.
_LOW, _RATIO = 1e-5, 1.01
_BINS = math.ceil(math.log(1e7) / math.log(_RATIO)) + 1


class LatencyHistogram:
    """Counts of latencies (seconds) in geometric bins; percentiles are bin centres."""

    def __init__(self) -> None:
        self.counts = np.zeros(_BINS, dtype=np.int64)
        self.total = 0

    def add(self, seconds: float) -> None:
        """Record one latency."""
        index = 0 if seconds <= _LOW else min(_BINS - 1, int(math.log(seconds / _LOW) / math.log(_RATIO)) + 1)
        self.counts[index] += 1
        self.total += 1

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0-100) in seconds; NaN when empty."""
        if not self.total:
            return float("nan")
        rank = max(1, math.ceil(q / 100 * self.total))
        index = int(np.searchsorted(np.cumsum(self.counts), rank))
        return _LOW if index == 0 else _LOW * _RATIO ** (index - 0.5)


class StreamStats:
    """What the runner counts; ``live()`` covers the last ``window`` frames, ``summary()`` the whole run."""

    def __init__(self, window: int = 120) -> None:
        self.started = time.perf_counter()
        self.processed = 0
        self.first_done: float | None = None
        self.last_done: float | None = None
        self.e2e = LatencyHistogram()
        self.infer = LatencyHistogram()
        self._recent: deque[tuple[float, float]] = deque(maxlen=window)  # (done at, e2e latency)

    def record(self, captured_at: float, infer_seconds: float, done_at: float) -> None:
        """Account one processed frame: captured at ``captured_at``, its sinks finished at ``done_at``."""
        self.processed += 1
        self.first_done = self.first_done if self.first_done is not None else done_at
        self.last_done = done_at
        self.e2e.add(done_at - captured_at)
        self.infer.add(infer_seconds)
        self._recent.append((done_at, done_at - captured_at))

    def fps(self) -> float:
        """Processed frames per second over the whole run (first to last processed frame)."""
        if self.processed < 2 or self.first_done is None or self.last_done is None:
            return 0.0
        return (self.processed - 1) / max(self.last_done - self.first_done, 1e-9)

    def live(self) -> dict[str, float]:
        """FPS and end-to-end p50/p95 (ms) over the recent window."""
        if len(self._recent) < 2:
            return {"fps": 0.0, "p50_ms": float("nan"), "p95_ms": float("nan")}
        span = self._recent[-1][0] - self._recent[0][0]
        latencies = np.array([lat for _, lat in self._recent]) * 1e3
        return {
            "fps": (len(self._recent) - 1) / max(span, 1e-9),
            "p50_ms": float(np.percentile(latencies, 50)),
            "p95_ms": float(np.percentile(latencies, 95)),
        }

    def summary(self, captured: int, dropped: int) -> dict[str, float | int]:
        """The whole run: counts, FPS, end-to-end and inference latency percentiles (ms)."""
        return {
            "captured": captured,
            "processed": self.processed,
            "dropped": dropped,
            "fps": round(self.fps(), 2),
            "e2e_p50_ms": round(self.e2e.percentile(50) * 1e3, 3),
            "e2e_p95_ms": round(self.e2e.percentile(95) * 1e3, 3),
            "infer_p50_ms": round(self.infer.percentile(50) * 1e3, 3),
            "infer_p95_ms": round(self.infer.percentile(95) * 1e3, 3),
            "wall_s": round(time.perf_counter() - self.started, 3),
        }
