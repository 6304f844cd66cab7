"""What ``token_prune`` and ``feature_cache`` changed in a SmolVLA policy's loop (no torch: the deploy
runtime reads the schedule too); saved in the policy folder's ``compression.json``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

BRANCHES = ("attention", "mlp", "both")


@dataclass(frozen=True)
class TokenPruning:
    """Keep ``keep`` visual tokens per camera after VLM layer ``after_layer`` (1-based), ``keep_top``
    of them by attention alone."""

    after_layer: int
    keep: int
    keep_top: int


@dataclass(frozen=True)
class FeatureCache:
    """Recompute the expert every ``interval`` steps; in between, ``layers`` (expert positions) reuse
    their ``branches`` ("attention", "mlp" or "both") from the last full step."""

    interval: int
    layers: tuple[int, ...]
    branches: str

    def reuses(self, branch: str) -> bool:
        """Whether cached steps reuse ``branch`` ("attention" or "mlp")."""
        return self.branches in (branch, "both")

    def branch_count(self) -> int:
        """How many branch outputs a cached layer stores."""
        return 2 if self.branches == "both" else 1


@dataclass(frozen=True)
class LoopSettings:
    """What the passes changed in SmolVLA's loop (saved in ``compression.json``)."""

    token_pruning: TokenPruning | None = None
    feature_cache: FeatureCache | None = None

    @property
    def changed(self) -> bool:
        """Whether the loop differs from LeRobot's."""
        return self.token_pruning is not None or self.feature_cache is not None

    def to_json(self) -> dict[str, Any]:
        """The set entries as plain dicts."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> LoopSettings:
        """Inverse of :meth:`to_json`."""
        pruning, cache = record.get("token_pruning"), record.get("feature_cache")
        return cls(
            TokenPruning(**pruning) if pruning else None,
            FeatureCache(cache["interval"], tuple(cache["layers"]), cache["branches"]) if cache else None,
        )


def cache_schedule(steps: int, interval: int) -> list[bool]:
    """Which denoising steps run in full: step 0 and every ``interval``-th after it."""
    return [i % interval == 0 for i in range(steps)]
