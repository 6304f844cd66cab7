"""Training a SmolVLA policy with LeRobot's flow-matching loss: optimizer, schedule, one step, held-out loss.

Shared by the ``policy_finetune`` pass (recovery after compression) and ``bench/policy/train_smolvla.py``
(training from scratch). The loss is ``SmolVLAPolicy.forward``'s: MSE between the expert's velocity at
``x_t = t·noise + (1 − t)·actions`` and ``noise − actions``, over the padded action dimensions. A policy
whose visual tokens are pruned after a VLM layer (``token_prune``) is trained through the same loss
computed on the pruned prefix (:func:`flow_loss`), so it learns the tokens it keeps at inference.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from edgecompress.models.smolvla_settings import TokenPruning

CLIP_NORM = 10.0  # LeRobot's SmolVLA gradient clip
# a teacher's action chunk (B, chunk, action_dim), normalized, for a batch and its noise
TeacherFn = Callable[[dict[str, torch.Tensor], torch.Tensor], torch.Tensor]


def adamw(params: list[torch.nn.Parameter], lr: float) -> torch.optim.AdamW:
    """AdamW with LeRobot's SmolVLA settings (betas 0.9/0.95, eps 1e-8, weight decay 1e-10)."""
    return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=1e-10)


def lr_at(step: int, base: float, warmup: int, progress: float) -> float:
    """Linear warmup, then cosine decay to a tenth of ``base`` at ``progress`` 1 (steps or minutes)."""
    if step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, progress)
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def flow_loss(
    policy: Any,
    batch: dict[str, torch.Tensor],
    noise: torch.Tensor | None = None,
    time: torch.Tensor | None = None,
    pruning: TokenPruning | None = None,
) -> torch.Tensor:
    """LeRobot's flow-matching loss of ``batch`` (``SmolVLAPolicy.forward``), or with ``pruning`` the
    same loss on the prefix whose visual tokens are pruned after ``pruning.after_layer``."""
    if pruning is None:
        loss, _ = policy.forward(batch, noise=noise, time=time)
        return loss  # type: ignore[no-any-return]
    from lerobot.utils.constants import OBS_LANGUAGE_ATTENTION_MASK, OBS_LANGUAGE_TOKENS

    from edgecompress.models.smolvla_loop import prefix_cache, velocity

    flow = policy.model
    images, img_masks = policy.prepare_images(batch)
    state, actions = policy.prepare_state(batch), policy.prepare_action(batch)
    noise = flow.sample_noise(actions.shape, actions.device) if noise is None else noise
    time = flow.sample_time(actions.shape[0], actions.device) if time is None else time
    x_t = time[:, None, None] * noise + (1 - time[:, None, None]) * actions
    tokens, masks = batch[OBS_LANGUAGE_TOKENS], batch[OBS_LANGUAGE_ATTENTION_MASK]
    prefix = prefix_cache(policy, images, img_masks, tokens, masks, state, pruning)
    v_t, _ = velocity(policy, x_t, time, prefix)
    return torch.nn.functional.mse_loss(v_t, noise - actions)


def fixed_draw(batch: int, chunk: int, width: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded noise (batch, chunk, width) and times in (0.001, 1] for a repeatable loss."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn((batch, chunk, width), generator=generator)
    return noise, torch.rand(batch, generator=generator) * 0.999 + 0.001


@torch.no_grad()
def held_out_loss(
    policy: Any, batch: dict[str, torch.Tensor], pruning: TokenPruning | None = None, chunk: int = 64
) -> float:
    """The flow-matching loss of ``batch`` (held-out frames) with fixed noise and times (seed 0),
    computed ``chunk`` frames at a time (the mean over all frames, as one forward would give)."""
    mode = policy.training
    policy.eval()
    frames = batch["action"].shape[0]
    noise, times = fixed_draw(frames, policy.config.chunk_size, policy.config.max_action_dim)
    total = 0.0
    for start in range(0, frames, chunk):
        rows = slice(start, start + chunk)
        part = {key: value[rows] for key, value in batch.items()}
        total += float(flow_loss(policy, part, noise[rows], times[rows], pruning)) * len(times[rows])
    policy.train(mode)
    return total / frames


def train_step(
    policy: Any,
    optimizer: torch.optim.Optimizer,
    batch: dict[str, torch.Tensor],
    pruning: TokenPruning | None = None,
    teacher: TeacherFn | None = None,
    distill: float = 0.0,
) -> dict[str, float]:
    """One AdamW step (clipped) on the flow-matching loss of ``batch``; with a ``teacher`` and ``distill``
    > 0, plus ``distill`` × the same loss towards the teacher's chunk for the same noise and times."""
    if teacher is None or distill <= 0:
        loss, terms = flow_loss(policy, batch, pruning=pruning), {}
    else:
        actions = batch["action"]
        noise = policy.model.sample_noise((*actions.shape[:2], policy.config.max_action_dim), actions.device)
        time = policy.model.sample_time(actions.shape[0], actions.device)
        with torch.no_grad():
            chunk = teacher(batch, noise)
        demo = flow_loss(policy, batch, noise, time, pruning)
        taught = flow_loss(policy, {**batch, "action": chunk}, noise, time, pruning)
        loss, terms = (
            demo + distill * taught,
            {"demo_loss": float(demo.detach()), "distill_loss": float(taught.detach())},
        )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    torch.nn.utils.clip_grad_norm_(params, CLIP_NORM)
    optimizer.step()
    return {"loss": float(loss.detach()), **terms}
