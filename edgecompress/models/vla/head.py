"""The iterative action head: DiT blocks over a noisy action chunk, flow matching, feature caching.

Each block adds three branches to its input: self-attention and cross-attention (to the language
module's tokens), both modulated by the timestep (adaLN), and an MLP. Feature caching
(``feature_cache`` pass) recomputes these branch outputs only on *full* steps and adds the stored
ones on the steps in between, so a cached step runs only the input projection, the timestep embedding
and the output layer.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of flow times ``t`` in [0, 1] (shape (B,)) → (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = (t.float() * 1000.0)[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def full_steps(steps: int, interval: int) -> list[bool]:
    """Which denoising steps recompute the blocks: step 0 and every ``interval``-th after it."""
    if interval < 1:
        raise ValueError(f"cache interval must be >= 1, got {interval}")
    return [i % interval == 0 for i in range(steps)]


class DiTBlock(nn.Module):
    """Self-attention, cross-attention and MLP branches, each modulated by the timestep embedding."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 2.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.cross = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm3 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))
        self.modulation = nn.Linear(dim, 6 * dim)
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def branches(
        self, x: torch.Tensor, cond: torch.Tensor, context: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The three branch outputs (each added to the running ``x`` in turn)."""
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(cond)[:, None].chunk(6, dim=-1)
        h = self.norm1(x) * (1 + scale1) + shift1
        attn = gate1 * self.attn(h, h, h, need_weights=False)[0]
        x = x + attn
        cross = self.cross(self.norm2(x), context, context, need_weights=False)[0]
        x = x + cross
        mlp = gate2 * self.mlp(self.norm3(x) * (1 + scale2) + shift2)
        return attn, cross, mlp


class ActionHead(nn.Module):
    """Predicts the flow velocity of a noisy action chunk, conditioned on the language module's tokens."""

    def __init__(self, action_dim: int, horizon: int, dim: int, context_dim: int, layers: int, heads: int):
        super().__init__()
        self.dim = dim
        self.action_in = nn.Linear(action_dim, dim)
        self.position = nn.Parameter(torch.zeros(1, horizon, dim))
        self.time_mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.context_in = nn.Linear(context_dim, dim)
        self.blocks: list[DiTBlock] = nn.ModuleList(DiTBlock(dim, heads) for _ in range(layers))  # type: ignore[assignment]
        self.norm_out = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.action_out = nn.Linear(dim, action_dim)
        nn.init.normal_(self.position, std=0.02)

    def _inputs(self, noisy: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.action_in(noisy) + self.position
        cond = self.time_mlp(timestep_embedding(t, self.dim))
        return x, cond

    def project_context(self, context: torch.Tensor) -> torch.Tensor:
        """Map the language module's tokens to the head's width (done once per action chunk)."""
        return self.context_in(context)

    def forward(self, noisy: torch.Tensor, t: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Velocity for ``noisy`` (B, H, A) at times ``t`` (B,), given projected ``context``."""
        return self.full_step(noisy, t, context)[0]

    def full_step(
        self, noisy: torch.Tensor, t: torch.Tensor, context: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Velocity and the stacked branch outputs (blocks, 3, B, H, D) for the cached steps."""
        x, cond = self._inputs(noisy, t)
        cache = []
        for block in self.blocks:
            branches = block.branches(x, cond, context)
            x = x + branches[0] + branches[1] + branches[2]
            cache.append(torch.stack(branches))
        return self.action_out(self.norm_out(x)), torch.stack(cache)

    def cached_step(self, noisy: torch.Tensor, t: torch.Tensor, cache: torch.Tensor) -> torch.Tensor:
        """Velocity reusing the branch outputs of the last full step; the blocks do not run."""
        x = self.action_in(noisy) + self.position  # ``t`` only modulates the blocks, which do not run
        for index in range(len(self.blocks)):
            x = x + cache[index].sum(dim=0)
        return self.action_out(self.norm_out(x))


def sample_actions(
    head: ActionHead, context: torch.Tensor, noise: torch.Tensor, steps: int, interval: int = 1
) -> torch.Tensor:
    """Integrate the flow from ``noise`` (t=1) to an action chunk (t=0) with Euler steps and caching."""
    x, dt, cache = noise, 1.0 / steps, None
    for index, full in enumerate(full_steps(steps, interval)):
        t = torch.full((noise.shape[0],), 1.0 - index * dt, device=noise.device)
        if full or cache is None:
            velocity, cache = head.full_step(x, t, context)
        else:
            velocity = head.cached_step(x, t, cache)
        x = x - dt * velocity
    return x
