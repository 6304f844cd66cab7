"""Visual-token selection (EfficientVLA): task-relevant tokens by attention, the rest by diversity."""

from __future__ import annotations

import torch


def min_max(scores: torch.Tensor) -> torch.Tensor:
    """Scale each row of ``scores`` to [0, 1]."""
    low = scores.min(dim=-1, keepdim=True).values
    high = scores.max(dim=-1, keepdim=True).values
    return (scores - low) / (high - low).clamp_min(1e-12)


def split_budget(keep: int, keep_top: int) -> tuple[int, int, int]:
    """(forced, by score, by diversity): ``keep_top`` always, then half the rest each way."""
    if keep < 1:
        raise ValueError(f"the visual-token budget must be >= 1, got {keep}")
    forced = min(keep_top, keep)
    by_score = (keep - forced) // 2
    return forced, by_score, keep - forced - by_score


def select_visual_tokens(
    scores: torch.Tensor, tokens: torch.Tensor, keep: int, keep_top: int
) -> torch.Tensor:
    """Indices (B, keep) of the visual tokens to keep, in ascending order.

    ``scores`` (B, N) is the attention each visual token receives from the task tokens; ``tokens``
    (B, N, D) are the visual hidden states. The ``keep_top`` highest-scoring tokens are always kept;
    half the remaining budget goes to the next-highest scores, the other half greedily to the tokens
    least similar (lowest maximum cosine similarity) to those already kept.
    """
    batch, count = scores.shape
    if keep >= count:
        return torch.arange(count, device=scores.device).expand(batch, count)
    forced, by_score, by_diversity = split_budget(keep, keep_top)
    order = torch.argsort(min_max(scores), dim=-1, descending=True)
    top = order[:, : forced + by_score]
    # a float 0/1 mask, updated out of place: traces to ONNX ScatterElements
    kept = torch.zeros_like(scores).scatter(1, top, torch.ones_like(top, dtype=scores.dtype))
    unit = torch.nn.functional.normalize(tokens, dim=-1)
    similarity = unit @ unit.transpose(1, 2)  # (B, N, N)
    for _ in range(by_diversity):
        closest = torch.where(kept[:, None, :] > 0, similarity, -2.0).max(dim=-1).values  # (B, N)
        choice = torch.where(kept > 0, 3.0, closest).argmin(dim=-1, keepdim=True)
        kept = kept.scatter(1, choice, torch.ones_like(choice, dtype=scores.dtype))
    # exactly ``keep`` entries are 1: top-k of the mask gives them with a static shape (ONNX-friendly)
    return torch.sort(torch.topk(kept, keep, dim=-1).indices, dim=-1).values
