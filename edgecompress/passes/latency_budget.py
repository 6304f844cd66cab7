"""Latency-budget search for ``bn_prune``: measure candidates on the target runtime, not FLOPs proxies.

Bisection over the channel ratio: each candidate is pruned, exported, lowered at FP32 for the
target's backend and timed there. The least-pruned candidate that meets the budget is chosen (before
fine-tuning, less pruning keeps more of the model); every candidate is listed in the report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from edgecompress.errors import StageFailed

if TYPE_CHECKING:
    from edgecompress.passes.base import PassContext

# prune the model at a channel ratio: (pruned model, pruning details with params_after, gflops_after)
PruneAt = Callable[[float], tuple[Any, dict[str, Any]]]


def candidate_latency_ms(prune_at: PruneAt, ratio: float, ctx: PassContext) -> tuple:
    """Prune at ``ratio``; return (pruning details, p50 ms on the target runtime at FP32, where)."""
    if ctx.candidate_latency is None:
        raise StageFailed("bn_prune budget_ms needs the target's runtime to time candidates", "drop it")
    pruned, details = prune_at(ratio)
    p50, measured_on = ctx.candidate_latency(pruned, ctx.work / f"budget-{ratio:.4f}")
    return details, p50, measured_on


def search_ratio_for_budget(
    prune_at: PruneAt, budget_ms: float, max_ratio: float, steps: int, ctx: PassContext
) -> dict[str, Any]:
    """Bisect the channel ratio for the least pruning whose p50 latency fits ``budget_ms``.

    Returns the chosen ratio and every candidate (the caller prunes at that ratio, with repairs).
    """
    budget = float(budget_ms)
    low, high = 0.0, max_ratio
    candidates: list[dict[str, Any]] = []
    best: float | None = None
    details, p50, measured_on = candidate_latency_ms(prune_at, high, ctx)
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
    for _ in range(steps):
        mid = round((low + high) / 2, 4)
        details, p50, measured_on = candidate_latency_ms(prune_at, mid, ctx)
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
