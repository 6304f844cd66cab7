"""A SmolVLA report row: latency per action chunk, params, FLOPs (split) and agreement with the original."""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgecompress.families.base import CompilePlan, Measured, float_graph_measured_on

if TYPE_CHECKING:
    from edgecompress.measure.latency import Latency
    from edgecompress.report.schema import StageRow


def smolvla_row(
    plan: CompilePlan, m: Measured, latency: Latency, mse: float, max_abs: float, frames: int
) -> StageRow:
    """The row of ``m``: its runtime, the adapter's size and FLOPs, and its actions against the original's."""
    from edgecompress.report.schema import LatencyRow, PolicyAccuracyRow, StageRow

    adapter = m.adapter
    split = adapter.flops()  # type: ignore[attr-defined]
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
        measured_on=float_graph_measured_on(plan, m.runtime, adapter.input_size),
        params=adapter.params(),  # type: ignore[attr-defined]
        gflops=split["total"],
        metrics=PolicyAccuracyRow(action_mse=mse, frames=frames, reference="original"),
        latency=LatencyRow.of(latency),
        wall_s=m.wall_s,
        details=details,
    )
