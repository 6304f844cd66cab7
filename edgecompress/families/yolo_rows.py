"""Measure a detector compile's runtimes (latency interleaved, mAP on the full val split) into report rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from edgecompress.measure.accuracy import evaluate
from edgecompress.measure.environment import cpu_model, isa_flags
from edgecompress.measure.latency import measure_latency
from edgecompress.report.schema import AccuracyRow, DataInfo, LatencyRow, MeasuredOn, StageRow
from edgecompress.runtime.preprocess import preprocess, read_image
from edgecompress.ui import status

if TYPE_CHECKING:
    from edgecompress.backends.base import Runtime
    from edgecompress.data import DetectionSplit
    from edgecompress.families.base import CompilePlan, Measured


STAND_IN_WARMUP, STAND_IN_ITERATIONS = 10, 50  # timing on the CPU stand-in of a deferred TensorRT engine


def _latency_input(plan: CompilePlan, val: DetectionSplit) -> np.ndarray:
    batch, _ = preprocess([read_image(val.images[0])], plan.imgsz)
    return np.repeat(batch, plan.target.latency.batch, axis=0) if plan.target.latency.batch > 1 else batch


def detector_row(
    name: str,
    kind: str,
    runtime: Runtime,
    imgsz: int,
    complexity: tuple[int, float],
    accuracy: AccuracyRow | None,
    latency: LatencyRow,
    *,
    threads: int | None,
    batch: int,
    device: str,
    wall_s: float | None,
    details: dict,
) -> StageRow:
    """One report row: what ran where (runtime, precision it ran, CPU and ISA), size, mAP, latency."""
    measured_on = MeasuredOn(
        runtime=runtime.name,
        runtime_version=runtime.version,
        precision=runtime.precision,
        executed_precision=runtime.executed_precision,
        device=device,
        cpu=cpu_model(),
        isa=isa_flags(),
        threads=threads,
        batch=batch,
        imgsz=imgsz,
    )
    params, gflops = complexity
    return StageRow(
        name=name,
        kind=kind,
        measured_on=measured_on,
        params=params,
        gflops=gflops,
        metrics=accuracy,
        latency=latency,
        wall_s=wall_s,
        details=details,
    )


def measure_rows(
    plan: CompilePlan, val: DetectionSplit, runtimes: list[Measured], stand_in: bool = False
) -> tuple[list[StageRow], DataInfo | None]:
    """Latency of all runtimes (interleaved), then mAP of each on ``val``; rows and the split description.

    ``stand_in``: ONNX Runtime on this CPU stands in for a TensorRT engine built later on the device.
    """
    lat = plan.target.latency
    warmup, iterations = lat.warmup, lat.iterations
    if stand_in:  # the device's long timing says nothing on this CPU
        warmup, iterations = min(warmup, STAND_IN_WARMUP), min(iterations, STAND_IN_ITERATIONS)
    status(f"measuring latency: {iterations} iterations after {warmup} warm-up, interleaved")
    timed = {m.name: m.runtime for m in runtimes}
    latencies = measure_latency(timed, _latency_input(plan, val), warmup, iterations)
    rows, data_info = [], None
    for m in runtimes:
        params, gflops = m.adapter.complexity(plan.imgsz)
        accuracy = None
        if plan.recipe.measure.accuracy:
            settings = plan.recipe.measure
            acc = evaluate(
                m.runtime, val, plan.imgsz, settings.conf, settings.iou, m.name, settings.single_cls
            )
            accuracy = AccuracyRow(map50=acc.map50, map50_95=acc.map50_95)
            data_info = DataInfo(
                data_yaml=str(plan.data), split="val", images=acc.images, instances=acc.instances
            )
            status(
                f"{m.name}: mAP50 {acc.map50:.4f}  mAP50-95 {acc.map50_95:.4f}  "
                f"p50 {latencies[m.name].p50_ms:.1f} ms"
            )
        rows.append(
            detector_row(
                m.name,
                m.kind,
                m.runtime,
                plan.imgsz,
                (params, gflops),
                accuracy,
                LatencyRow.of(latencies[m.name]),
                threads=plan.target.threads,
                batch=lat.batch,
                device=getattr(m.runtime, "device", "CPU"),
                wall_s=m.wall_s,
                details=m.details or {},
            )
        )
    return rows, data_info
