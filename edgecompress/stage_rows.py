"""Measure a list of runtimes (latency interleaved, accuracy on the full val split) into report rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from edgecompress.backends.base import Runtime
from edgecompress.measure.accuracy import evaluate
from edgecompress.measure.environment import cpu_model, isa_flags
from edgecompress.measure.latency import measure_latency
from edgecompress.report.schema import AccuracyRow, DataInfo, LatencyRow, MeasuredOn, StageRow
from edgecompress.runtime.preprocess import preprocess, read_image
from edgecompress.ui import status

if TYPE_CHECKING:
    from edgecompress.compiler import CompileContext
    from edgecompress.models.yolo import YoloDetector


def latency_row(latency: Any) -> LatencyRow:
    """The report row of a :func:`measure_latency` result."""
    return LatencyRow(
        p50_ms=latency.p50_ms,
        p95_ms=latency.p95_ms,
        mean_ms=latency.mean_ms,
        fps=latency.fps,
        warmup=latency.warmup,
        iterations=latency.iterations,
    )


@dataclass
class MeasuredRuntime:
    """A runtime to measure and the row it becomes."""

    name: str
    kind: str
    runtime: Runtime
    detector: YoloDetector
    details: dict[str, Any] | None
    wall_s: float | None = None


STAND_IN_WARMUP, STAND_IN_ITERATIONS = 10, 50  # timing on the CPU stand-in of a deferred TensorRT engine


def _latency_input(ctx: CompileContext) -> np.ndarray:
    batch, _ = preprocess([read_image(ctx.val.images[0])], ctx.imgsz)
    return np.repeat(batch, ctx.target.latency.batch, axis=0) if ctx.target.latency.batch > 1 else batch


def measure_rows(
    ctx: CompileContext, runtimes: list[MeasuredRuntime]
) -> tuple[list[StageRow], DataInfo | None]:
    """Latency of all runtimes (interleaved), then mAP of each; returns rows and the split description."""
    lat = ctx.target.latency
    warmup, iterations = lat.warmup, lat.iterations
    if ctx.engine_deferred:  # ONNX Runtime on this CPU stands in: the device's long timing says nothing here
        warmup, iterations = min(warmup, STAND_IN_WARMUP), min(iterations, STAND_IN_ITERATIONS)
    status(f"measuring latency: {iterations} iterations after {warmup} warm-up, interleaved")
    timed = {m.name: m.runtime for m in runtimes}
    latencies = measure_latency(timed, _latency_input(ctx), warmup, iterations)
    rows, data_info = [], None
    for m in runtimes:
        params, gflops = m.detector.complexity(ctx.imgsz)
        accuracy = None
        if ctx.recipe.measure.accuracy:
            settings = ctx.recipe.measure
            acc = evaluate(
                m.runtime, ctx.val, ctx.imgsz, settings.conf, settings.iou, m.name, settings.single_cls
            )
            accuracy = AccuracyRow(map50=acc.map50, map50_95=acc.map50_95)
            data_info = DataInfo(
                data_yaml=str(ctx.data_yaml), split="val", images=acc.images, instances=acc.instances
            )
            status(
                f"{m.name}: mAP50 {acc.map50:.4f}  mAP50-95 {acc.map50_95:.4f}  "
                f"p50 {latencies[m.name].p50_ms:.1f} ms"
            )
        measured_on = MeasuredOn(
            runtime=m.runtime.name,
            runtime_version=m.runtime.version,
            precision=m.runtime.precision,
            executed_precision=m.runtime.executed_precision,
            device=getattr(m.runtime, "device", "CPU"),
            cpu=cpu_model(),
            isa=isa_flags(),
            threads=ctx.target.threads,
            batch=lat.batch,
            imgsz=ctx.imgsz,
        )
        lat_m = latencies[m.name]
        rows.append(
            StageRow(
                name=m.name,
                kind=m.kind,
                measured_on=measured_on,
                params=params,
                gflops=gflops,
                accuracy=accuracy,
                latency=latency_row(lat_m),
                wall_s=m.wall_s,
                details=m.details or {},
            )
        )
    return rows, data_info
