"""``feature_cache``: recompute the action head's block outputs every N denoising steps, reuse between.

On the steps in between, each DiT block adds the attention, cross-attention and MLP outputs stored
at the last full step, so only the head's input and output layers run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from edgecompress.passes.base import Pass, PassConfig, PassResult

if TYPE_CHECKING:
    from edgecompress.models.policy import PolicyAdapter
    from edgecompress.passes.base import PassContext


class FeatureCacheConfig(PassConfig):
    """``interval``: recompute every this many steps (1 = no caching)."""

    interval: int = Field(default=2, ge=1)


class FeatureCachePass(Pass):
    """Cache the action head's block outputs across denoising steps."""

    name = "feature_cache"
    Config = FeatureCacheConfig
    families = ("policy",)

    def run(self, model: PolicyAdapter, ctx: PassContext) -> PassResult:
        from edgecompress.models.vla.head import full_steps

        config: FeatureCacheConfig = self.config  # type: ignore[assignment]
        steps = model.config.denoise_steps
        model.set_cache_interval(config.interval)
        schedule = full_steps(steps, config.interval)
        return PassResult(model, {"interval": config.interval, "full_steps": sum(schedule), "steps": steps})
