"""Latency-budget search for ``bn_prune``: measure candidates on the target runtime, not FLOPs proxies.

Bisection over the channel ratio: each candidate is pruned, exported, lowered at FP32 for the
target's backend and timed there. The least-pruned candidate that meets the budget is chosen (before
fine-tuning, less pruning keeps more of the model); every candidate is listed in the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from edgecompress.errors import StageFailed

if TYPE_CHECKING:
    from edgecompress.compiler import CompileContext
    from edgecompress.passes.bn_prune import BNPruneConfig


def candidate_latency_ms(model: Any, ratio: float, ctx: CompileContext, config: BNPruneConfig) -> tuple:
    """Prune at ``ratio`` and return (pruning details, p50 ms on the target runtime at FP32)."""
    from edgecompress.measure.latency import measure_latency
    from edgecompress.passes.bn_prune import prune_by_bn_scale
    from edgecompress.ui import foreign_output

    pruned, details = prune_by_bn_scale(model, config.model_copy(update={"ratio": ratio}), ctx.imgsz)
    folder = ctx.stage_dir / f"budget-{ratio:.4f}"
    candidate = ctx.detector.with_model(pruned, folder / "model.pt")
    with foreign_output():
        onnx = candidate.export_onnx(folder / "onnx", ctx.imgsz, nms_free=ctx.recipe.lower.nms_free)
        lowered = ctx.backend.lower(onnx, folder / "lowered", ctx.target, "fp32", None)
    runtime = ctx.backend.load(lowered.model_file, ctx.target, "fp32")
    batch = np.zeros((ctx.target.latency.batch, 3, ctx.imgsz, ctx.imgsz), dtype=np.float32)
    lat = ctx.target.latency
    p50 = measure_latency({"candidate": runtime}, batch, lat.warmup, lat.iterations)["candidate"].p50_ms
    return details, p50


def search_ratio_for_budget(model: Any, config: BNPruneConfig, ctx: CompileContext) -> dict[str, Any]:
    """Bisect the channel ratio for the least pruning whose p50 latency fits ``config.budget_ms``.

    Returns the chosen ratio and every candidate (the caller prunes at that ratio, with repairs).
    """
    budget = float(config.budget_ms or 0)
    low, high = 0.0, config.max_layer_ratio
    candidates: list[dict[str, Any]] = []
    best: float | None = None
    details, p50 = candidate_latency_ms(model, high, ctx, config)
    candidates.append(
        {
            "ratio": high,
            "p50_ms": p50,
            "params": details["params_after"],
            "gflops": details["gflops_after"],
            "meets_budget": p50 <= budget,
        }
    )
    if p50 > budget:
        raise StageFailed(
            f"even {high:.0%} of channels pruned runs at {p50:.1f} ms > budget {budget} ms",
            "raise --budget-ms, lower --imgsz, or use INT8",
        )
    best = high
    for _ in range(config.search_steps):
        mid = round((low + high) / 2, 4)
        details, p50 = candidate_latency_ms(model, mid, ctx, config)
        fits = p50 <= budget
        candidates.append(
            {
                "ratio": mid,
                "p50_ms": p50,
                "params": details["params_after"],
                "gflops": details["gflops_after"],
                "meets_budget": fits,
            }
        )
        if fits:
            high = best = mid
        else:
            low = mid
    return {
        "budget_ms": budget,
        "chosen_ratio": best,
        "candidates": candidates,
        "measured_on": f"{ctx.backend.name} fp32",
    }
