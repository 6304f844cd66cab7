"""A SmolVLA report row: latency per action chunk, params, FLOPs (split) and agreement with the original."""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgecompress.families.base import CompilePlan, Measured

if TYPE_CHECKING:
    from edgecompress.measure.latency import Latency
    from edgecompress.report.schema import StageRow


def smolvla_row(
    plan: CompilePlan, m: Measured, latency: Latency, mse: float, max_abs: float, frames: int
) -> StageRow:
    """The row of ``m``: its runtime, the adapter's size and FLOPs, and its actions against the original's."""
    import torch

    from edgecompress.measure.environment import cpu_model, isa_flags
    from edgecompress.report.schema import LatencyRow, MeasuredOn, PolicyAccuracyRow, StageRow

    adapter = m.adapter
    split = adapter.flops()  # type: ignore[attr-defined]
    runtime = getattr(m.runtime, "name", "torch")
    details = {
        **(m.details or {}),
        "gflops_split": {k: round(v, 3) for k, v in split.items()},
        "flops_counted_by": "torch.utils.flop_counter on the PyTorch graphs (matmuls, convs, attention)",
        "action_max_abs_diff": max_abs,
        "denoising_steps": adapter.meta()["num_steps"],  # type: ignore[attr-defined]
    }
    return StageRow(
        name=m.name,
        kind=m.kind,  # type: ignore[arg-type]
        measured_on=MeasuredOn(
            runtime=runtime,
            runtime_version=getattr(m.runtime, "version", torch.__version__.split("+")[0]),
            precision="fp32",
            executed_precision="f32",  # the graphs are compiled with f32 forced
            device=plan.target.device if runtime != "torch" else "CPU",
            cpu=cpu_model(),
            isa=isa_flags(),
            threads=plan.target.threads,
            batch=1,
            imgsz=adapter.input_size,
        ),
        params=adapter.params(),  # type: ignore[attr-defined]
        gflops=split["total"],
        metrics=PolicyAccuracyRow(action_mse=mse, frames=frames, reference="original"),
        latency=LatencyRow.of(latency),
        wall_s=m.wall_s,
        details=details,
    )
