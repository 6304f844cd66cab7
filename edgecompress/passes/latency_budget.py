"""Latency-budget search for ``bn_prune``: measure candidates on the target runtime, not FLOPs proxies.

Bisection over the channel ratio: each candidate is pruned, exported, lowered at FP32 for the
target's backend and timed there. The least-pruned candidate that meets the budget is chosen (before
fine-tuning, less pruning keeps more of the model); every candidate is listed in the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edgecompress.errors import StageFailed

if TYPE_CHECKING:
    from edgecompress.passes.base import PassContext
    from edgecompress.passes.bn_prune import BNPruneConfig


def candidate_latency_ms(model: Any, ratio: float, ctx: PassContext, config: BNPruneConfig) -> tuple:
    """Prune at ``ratio``; return (pruning details, p50 ms on the target runtime at FP32, where)."""
    from edgecompress.passes.bn_prune import prune_by_bn_scale

    if ctx.candidate_latency is None:
        raise StageFailed("bn_prune budget_ms needs the target's runtime to time candidates", "drop budget_ms")
    pruned, details = prune_by_bn_scale(model, config.model_copy(update={"ratio": ratio}), ctx.imgsz)
    p50, measured_on = ctx.candidate_latency(pruned, ctx.work / f"budget-{ratio:.4f}")
    return details, p50, measured_on


def search_ratio_for_budget(model: Any, config: BNPruneConfig, ctx: PassContext) -> dict[str, Any]:
    """Bisect the channel ratio for the least pruning whose p50 latency fits ``config.budget_ms``.

    Returns the chosen ratio and every candidate (the caller prunes at that ratio, with repairs).
    """
    budget = float(config.budget_ms or 0)
    low, high = 0.0, config.max_layer_ratio
    candidates: list[dict[str, Any]] = []
    best: float | None = None
    details, p50, measured_on = candidate_latency_ms(model, high, ctx, config)
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
        details, p50, measured_on = candidate_latency_ms(model, mid, ctx, config)
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
        "measured_on": measured_on,
    }
