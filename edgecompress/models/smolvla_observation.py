"""What a SmolVLA policy observes, as arrays (numpy only: the deploy runtime uses it too)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from edgecompress.models.smolvla_settings import LoopSettings


class PolicyView(Protocol):
    """What the graph export and the FLOP count read of a SmolVLA adapter."""

    policy: Any
    loop: LoopSettings  # token pruning and feature caching the passes set

    def cameras(self) -> list[str]:
        """The camera keys a batch carries, in the policy's order."""
        ...

    def meta(self) -> dict[str, Any]:
        """Shapes and loop settings the lowered graphs need."""
        ...


META_FILE = "smolvla.json"  # the lowered graphs' shapes and loop settings


@dataclass(frozen=True)
class Observation:
    """One batch of observations, as LeRobot's pre-processor hands them to the policy.

    ``images``: one (B, 3, H, W) float32 array in [0, 1] per camera, in the policy's camera order;
    ``tokens`` / ``mask``: the tokenized task (B, L) int64 / bool; ``state``: (B, state_dim) float32.
    """

    images: tuple[np.ndarray, ...]
    tokens: np.ndarray
    mask: np.ndarray
    state: np.ndarray


def pad_language(tokens: np.ndarray, mask: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad (or refuse to cut) the task tokens to the graph's fixed ``length``.

    Padded positions are masked, so they change nothing: the prefix's positions come from the mask.
    """
    if tokens.shape[1] > length:
        raise ValueError(f"the task has {tokens.shape[1]} tokens; the lowered policy takes at most {length}")
    extra = length - tokens.shape[1]
    tokens = np.pad(tokens.astype(np.int64), ((0, 0), (0, extra)))
    return tokens, np.pad(mask.astype(bool), ((0, 0), (0, extra)))


def random_observations(meta: dict[str, Any], count: int, seed: int = 0) -> list[Observation]:
    """``count`` seeded single observations of the shapes in ``meta`` (cameras, task length, state, vocab).

    Each task has a random number of real tokens (at least half), the rest padded and masked.
    """
    rng = np.random.default_rng(seed)
    length = int(meta["lang_length"])
    observations = []
    for _ in range(count):
        images = tuple(rng.random((1, *shape), dtype=np.float32) for shape in meta["camera_shapes"])
        real = int(rng.integers(max(1, length // 2), length + 1))
        tokens = np.zeros((1, length), np.int64)
        tokens[0, :real] = rng.integers(0, int(meta["vocab_size"]), real)
        mask = np.arange(length)[None] < real
        state = rng.standard_normal((1, int(meta["state_dim"]))).astype(np.float32)
        observations.append(Observation(images, tokens, mask, state))
    return observations


def chunk_noise(meta: dict[str, Any], seed: int = 0) -> np.ndarray:
    """Seeded flow-matching noise for one action chunk: (1, chunk_size, max_action_dim) float32."""
    shape = (1, int(meta["chunk_size"]), int(meta["max_action_dim"]))
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def graph_meta(folder: Path) -> dict[str, Any]:
    """The ``smolvla.json`` written beside the lowered graphs."""
    return dict(json.loads((folder / META_FILE).read_text()))
