"""FLOPs of one SmolVLA action chunk, split into vision, VLM prefix and action expert.

Counted by ``torch.utils.flop_counter.FlopCounterMode`` on the PyTorch model running the same graphs
that are lowered: it counts matrix products, convolutions and attention, not normalizations,
activations or the elementwise RoPE, so the figures are a lower bound of the lowered graphs' work.
"""

from __future__ import annotations

from typing import Any

from edgecompress.models.smolvla_observation import PolicyView


def _count(call: Any, *args: Any) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        call(*args)
    return float(counter.get_total_flops())


def flops(adapter: PolicyView) -> dict[str, float]:
    """GFLOPs of one chunk: ``vision`` (vision tower + connector, every camera), ``vlm`` (the rest of the
    prefix: the VLM layers over image, task and state tokens, pruned ones included), ``expert``
    (``num_steps`` denoising steps, full or cached as the feature cache schedules them) and their
    ``total``."""
    from edgecompress.models.smolvla_export import (
        PrefixGraph,
        StepGraph,
        cross_kv_in_prefix,
        example_features,
        example_inputs,
    )
    from edgecompress.models.smolvla_settings import cache_schedule

    policy = adapter.policy.eval()
    prefix_args, step_args = example_inputs(adapter)
    batch = dict(zip(adapter.cameras(), prefix_args[3:], strict=True))
    images, _ = policy.prepare_images(batch)
    embed = policy.model.vlm_with_expert.embed_image
    vision = sum(_count(embed, image) for image in images)
    prefix = _count(PrefixGraph(adapter), *prefix_args)
    plan = adapter.loop.feature_cache
    with cross_kv_in_prefix(policy):  # as lowered: the cache's cross projections are in the prefix
        full = cached = _count(StepGraph(adapter), *step_args)
        if plan is not None:  # the steps in between run the cached step graph
            cached = _count(StepGraph(adapter, cached=True), *step_args, example_features(adapter, step_args))
    schedule = cache_schedule(adapter.meta()["num_steps"], plan.interval if plan else 1)
    expert = sum(full if step_is_full else cached for step_is_full in schedule)
    split = {"vision": vision, "vlm": prefix - vision, "expert": expert, "total": prefix + expert}
    return {name: value / 1e9 for name, value in split.items()}
