"""Latency of runtimes on one input: warm-up, then timed calls interleaved across runtimes in rounds."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from edgecompress.backends.base import Runtime
from edgecompress.ui import track


@dataclass
class Latency:
    """Per-call latency statistics in milliseconds."""

    p50_ms: float
    p95_ms: float
    mean_ms: float
    fps: float
    warmup: int
    iterations: int
    batch: int


def _summarise(samples: list[float], warmup: int, batch: int) -> Latency:
    ms = np.asarray(samples) * 1000.0
    p50 = float(np.percentile(ms, 50))
    return Latency(
        p50, float(np.percentile(ms, 95)), float(ms.mean()), 1000.0 * batch / p50, warmup, len(samples), batch
    )


def measure_latency(
    runtimes: dict[str, Runtime], batch: np.ndarray, warmup: int = 10, iterations: int = 100, rounds: int = 5
) -> dict[str, Latency]:
    """Time each runtime on ``batch``, alternating runtimes in ``rounds`` so machine drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in runtimes}
    for runtime in runtimes.values():
        for _ in range(warmup):
            runtime(batch)
    per_round = [iterations // rounds + (1 if r < iterations % rounds else 0) for r in range(rounds)]
    schedule = [(name, count) for count in per_round for name in runtimes if count]
    for name, count in track(schedule, "latency", total=len(schedule)):
        runtime = runtimes[name]
        for _ in range(count):
            start = time.perf_counter()
            runtime(batch)
            samples[name].append(time.perf_counter() - start)
    return {name: _summarise(s, warmup, batch.shape[0]) for name, s in samples.items()}
