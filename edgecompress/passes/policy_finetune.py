"""``policy_finetune``: recovery training of a compressed SmolVLA on the compile's demonstrations.

The structural passes (``layer_prune`` of either stack, ``mlp_prune``, ``resolution``) leave a smaller
policy of ordinary modules at the weights it had; this pass trains every weight the policy's own
config trains (LeRobot's ``freeze_vision_encoder`` / ``train_expert_only`` choices, and its frozen
last VLM layer, are kept) on the train split of ``--data`` with LeRobot's flow-matching loss
(``SmolVLAPolicy.forward``), AdamW with LeRobot's SmolVLA settings, a linear warmup and cosine decay
over ``steps`` or ``max_minutes``, whichever ends first. ``distill`` > 0 adds that weight times the
same loss towards the uncompressed policy's predicted chunk for the same noise (the compile's
original model, ``PassContext.teacher``).

The inference-time passes change the loop, not the weights: with ``token_prune`` before it, the loss
is computed on the pruned prefix (``token_pruning: true``, the default), so the policy learns from the
visual tokens it keeps when deployed; ``feature_cache`` is off while training, since the loss trains
one denoising step at a time and a cached step has no earlier step of its own to reuse (the full
steps it reuses are the ones trained). Both settings stay as they were and apply after training.

The held-out flow-matching loss (fixed noise and times) before and after goes to the report.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from edgecompress.passes.base import Pass, PassConfig, PassResult
from edgecompress.ui import status, track

if TYPE_CHECKING:
    from edgecompress.passes.base import PassContext


class PolicyFinetuneConfig(PassConfig):
    """Steps (and an optional minutes budget), batch, peak lr, warmup steps, distillation weight."""

    steps: int = Field(default=300, ge=1)
    max_minutes: float | None = Field(default=None, gt=0)
    batch: int = Field(default=32, ge=1)
    lr: float = Field(default=1e-4, gt=0)
    warmup: int = Field(default=20, ge=0)
    distill: float = Field(default=0.0, ge=0)  # weight of the loss towards the teacher's chunk
    token_pruning: bool = True  # train on the pruned prefix when token_prune ran before
    held_out: int = Field(default=256, ge=1)  # held-out frames of the before/after loss
    seed: int = 0


class PolicyFinetunePass(Pass):
    """Fine-tune a compressed SmolVLA on demonstrations (flow matching, optionally distilled)."""

    name = "policy_finetune"
    Config = PolicyFinetuneConfig
    families = ("smolvla",)
    reads_train = "labels"  # the demonstrations' actions

    def run(self, model: Any, ctx: PassContext) -> PassResult:
        from edgecompress.models.smolvla_training import held_out_loss

        config: PolicyFinetuneConfig = self.config  # type: ignore[assignment]
        demos = ctx.demonstrations
        if demos is None:
            raise ValueError("policy_finetune trains on demonstrations: pass --data DEMOS.npz")
        pruning = model.loop.token_pruning if config.token_pruning else None
        held = next(demos.batches(demos.val.sample(config.held_out), config.held_out, seed=0))
        before = held_out_loss(model.policy, held, pruning)
        status(
            f"policy_finetune: held-out loss {before:.4f}; {config.steps} steps on {len(demos.train)} frames"
        )
        started = time.monotonic()
        losses, params = _train(
            model.policy, demos, config, pruning, _teacher(ctx) if config.distill > 0 else None
        )
        after = held_out_loss(model.policy, held, pruning)
        status(f"policy_finetune: {len(losses)} steps, held-out loss {before:.4f} -> {after:.4f}")
        return PassResult(model, _details(config, before, after, started, losses, params, demos, model))


def _train(
    policy: Any, demos: Any, config: PolicyFinetuneConfig, pruning: Any, teacher: Any
) -> tuple[list[dict[str, float]], list[Any]]:
    """Train ``policy`` in place for ``config.steps`` or ``config.max_minutes``; the loss terms of every
    step and the parameters trained. A status line every tenth of the steps."""
    import torch

    from edgecompress.models.smolvla_training import adamw, lr_at, train_step

    params = [p for p in policy.parameters() if p.requires_grad]
    optimizer = adamw(params, config.lr)
    stream = demos.batches(demos.train, config.batch, config.seed)
    torch.manual_seed(config.seed)
    policy.train()
    started, losses, tenth = time.monotonic(), [], max(1, config.steps // 10)
    for step in track(range(config.steps), "policy_finetune"):
        minutes = (time.monotonic() - started) / 60
        if config.max_minutes is not None and minutes > config.max_minutes:
            break
        progress = max(step / config.steps, minutes / config.max_minutes if config.max_minutes else 0.0)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, config.lr, config.warmup, progress)
        losses.append(train_step(policy, optimizer, next(stream), pruning, teacher, config.distill))
        if (step + 1) % tenth == 0:  # logs show progress too, not only the bar
            recent = float(np.mean([r["loss"] for r in losses[-tenth:]]))
            status(
                f"policy_finetune: step {step + 1}/{config.steps}, train loss {recent:.4f}, {minutes:.1f} min"
            )
    policy.eval()
    return losses, params


def _teacher(ctx: PassContext) -> Any:
    """The uncompressed policy's chunk for a batch and noise (its own loop, no gradients)."""
    from edgecompress.models.smolvla import load_smolvla
    from edgecompress.models.smolvla_loop import sample_actions

    original = load_smolvla(ctx.teacher)
    return lambda batch, noise: sample_actions(original.policy, dict(batch), noise, original.loop)


def _details(
    config: PolicyFinetuneConfig,
    before: float,
    after: float,
    started: float,
    losses: list[dict[str, float]],
    params: list[Any],
    demos: Any,
    model: Any,
) -> dict[str, Any]:
    """What the report keeps of the training: held-out loss before/after, steps, train loss, settings."""
    tenth = max(1, len(losses) // 10)
    mean = lambda rows, key: round(float(np.mean([r[key] for r in rows])), 6) if rows else None  # noqa: E731
    return {
        "held_out_loss_before": round(before, 6),
        "held_out_loss_after": round(after, 6),
        "held_out_frames": min(config.held_out, len(demos.val)),
        "steps": len(losses),
        "minutes": round((time.monotonic() - started) / 60, 3),
        "train_loss_first_tenth": mean(losses[:tenth], "loss"),
        "train_loss_last_tenth": mean(losses[-tenth:], "loss"),
        "train_frames": len(demos.train),
        "trained_params": int(sum(p.numel() for p in params)),
        "distill": config.distill,
        "token_pruning": "on" if config.token_pruning and model.loop.token_pruning else "none or off",
        "feature_cache": "off while training" if model.loop.feature_cache else "none",
    }
