"""``feature_cache``: recompute the action head's branch outputs every N denoising steps, reuse between.

On the steps in between, each cached layer adds the attention and/or MLP outputs stored at the last
full step instead of computing them (EfficientVLA). The reference VLA's DiT head caches all three
branches of every block, so a cached step runs only the head's input and output layers; SmolVLA's
expert can cache some layers or one branch kind (``layers``, ``branches``). The adapter lowers a
second step graph for the cached steps (:class:`FeatureCacheable`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import Field

from edgecompress.passes.base import Pass, PassConfig, PassResult

if TYPE_CHECKING:
    from edgecompress.passes.base import PassContext


class FeatureCacheable(Protocol):
    """What ``feature_cache`` reads and changes of a model (PolicyAdapter, SmolVLAAdapter)."""

    def denoising_steps(self) -> int:
        """Denoising steps per action chunk."""
        ...

    def set_feature_cache(self, interval: int, layers: list[int] | None, branches: str) -> None:
        """Recompute every ``interval`` steps; in between ``layers`` (None: all) reuse ``branches``."""
        ...


class FeatureCacheConfig(PassConfig):
    """``interval``: recompute every this many steps (1 = no caching); ``layers``: the head/expert layer
    positions that reuse (default all); ``branches``: what they reuse."""

    interval: int = Field(default=2, ge=1)
    layers: list[int] | None = None
    branches: Literal["attention", "mlp", "both"] = "both"


def full_steps(steps: int, interval: int) -> list[bool]:
    """Which denoising steps recompute the blocks: step 0 and every ``interval``-th after it."""
    return [i % interval == 0 for i in range(steps)]


class FeatureCachePass(Pass):
    """Cache the action head's branch outputs across denoising steps."""

    name = "feature_cache"
    Config = FeatureCacheConfig
    families = ("policy", "smolvla")

    def run(self, model: FeatureCacheable, ctx: PassContext) -> PassResult:
        config: FeatureCacheConfig = self.config  # type: ignore[assignment]
        steps = model.denoising_steps()
        model.set_feature_cache(config.interval, config.layers, config.branches)
        schedule = full_steps(steps, config.interval)
        details = {"interval": config.interval, "full_steps": sum(schedule), "steps": steps}
        return PassResult(model, {**details, "layers": config.layers or "all", "branches": config.branches})
