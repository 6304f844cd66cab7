"""Latency of runtimes on one input: warm-up, then timed calls interleaved across runtimes in rounds."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

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


def time_calls(
    calls: Mapping[str, Callable[[], object]],
    warmup: int = 10,
    iterations: int = 100,
    rounds: int = 5,
    batch: int = 1,
) -> dict[str, Latency]:
    """Time each zero-argument call, alternating them in ``rounds`` so machine drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        for _ in range(warmup):
            call()
    per_round = [iterations // rounds + (1 if r < iterations % rounds else 0) for r in range(rounds)]
    schedule = [(name, count) for count in per_round for name in calls if count]
    for name, count in track(schedule, "latency", total=len(schedule)):
        call = calls[name]
        for _ in range(count):
            start = time.perf_counter()
            call()
            samples[name].append(time.perf_counter() - start)
    return {name: _summarise(s, warmup, batch) for name, s in samples.items()}


def measure_latency(
    runtimes: dict[str, Runtime], batch: np.ndarray, warmup: int = 10, iterations: int = 100, rounds: int = 5
) -> dict[str, Latency]:
    """Time each runtime on ``batch``, alternating runtimes in ``rounds`` so machine drift hits all alike.

    Each runtime gets ``batch`` in the form its model takes (:meth:`Runtime.native_input`), converted
    once before timing, as a deployment feeds it.
    """
    calls = {name: partial(runtime, runtime.native_input(batch)) for name, runtime in runtimes.items()}
    return time_calls(calls, warmup, iterations, rounds, batch.shape[0])
