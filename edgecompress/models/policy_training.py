"""Training the reference VLA on demonstrations (flow matching, AdamW), with progress and a time budget."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from edgecompress.models.policy import PolicyAdapter, image_tensor
from edgecompress.models.policy_data import Demonstrations


def fit_normalization(policy: PolicyAdapter, demos: Demonstrations) -> None:
    """Set the policy's state and action normalisation to the demonstrations' mean and std."""
    network = policy.network
    for name, values in (("state", demos.states), ("action", demos.actions)):
        getattr(network, f"{name}_mean").copy_(torch.from_numpy(values.mean(0)))
        getattr(network, f"{name}_std").copy_(torch.from_numpy(values.std(0) + 1e-3))


def train_policy(
    policy: PolicyAdapter,
    demos: Demonstrations,
    epochs: int,
    batch: int = 64,
    lr: float = 3e-4,
    seed: int = 0,
    max_minutes: float | None = None,
    log: Callable[[str], None] | None = None,
) -> list[float]:
    """Train in place for ``epochs`` (or until ``max_minutes``); returns the mean loss of each epoch."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    fit_normalization(policy, demos)
    network = policy.network.train()
    images, text, states = policy.observations(demos)
    chunks = torch.from_numpy(demos.chunks(policy.config.horizon))
    optimizer = torch.optim.AdamW(network.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * max(1, len(demos) // batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=steps, pct_start=0.05)
    started, losses = time.monotonic(), []
    for epoch in range(epochs):
        order, total, count = rng.permutation(len(demos)), 0.0, 0
        for start in range(0, len(order) - batch + 1, batch):
            rows = np.sort(order[start : start + batch])
            loss = network.flow_loss(
                image_tensor(images[rows]),
                torch.from_numpy(text[rows]),
                torch.from_numpy(states[rows]),
                chunks[rows],
            )
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total, count = total + float(loss.detach()), count + 1
        losses.append(total / max(count, 1))
        if log:
            log(f"epoch {epoch + 1}/{epochs}: loss {losses[-1]:.4f} ({time.monotonic() - started:.0f} s)")
        if max_minutes and time.monotonic() - started > 60 * max_minutes:
            break
    network.eval()
    return losses
