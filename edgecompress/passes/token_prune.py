"""``token_prune``: keep a budget of visual tokens per camera after language layer K (EfficientVLA).

Tokens are scored by the attention the task tokens (instruction words and the state token) pay them
in layer K, min-max normalised; the ``keep_top`` best are always kept, half the rest of the budget goes
by score and half by diversity. The selection runs inside the model for every observation. The
adapter runs it (the reference VLA's language module; SmolVLA's VLM loop, whose attention it reads
from SmolVLA's own attention call): :class:`TokenPrunable` is all the pass uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pydantic import Field

from edgecompress.passes.base import Pass, PassConfig, PassResult

if TYPE_CHECKING:
    from edgecompress.passes.base import PassContext


class TokenPrunable(Protocol):
    """What ``token_prune`` reads and changes of a model (PolicyAdapter, SmolVLAAdapter)."""

    def language_layer_count(self) -> int:
        """Layers of the stack the visual tokens go through."""
        ...

    def visual_tokens_per_camera(self) -> int:
        """Visual tokens one camera image becomes."""
        ...

    def set_token_budget(self, after_layer: int, keep: int, keep_top: int) -> None:
        """Keep ``keep`` visual tokens per camera after layer ``after_layer`` (1-based)."""
        ...


class TokenPruneConfig(PassConfig):
    """``keep``: a count (≥ 1) or a fraction (< 1) of each camera's visual tokens; pruned after
    ``after_layer``."""

    after_layer: int = Field(default=2, ge=1)
    keep: float = Field(default=0.25, gt=0)
    keep_top: int = Field(default=4, ge=0)


def token_budget(keep: float, visual_tokens: int) -> int:
    """The kept count: ``keep`` itself if ≥ 1, else that fraction of ``visual_tokens`` (at least 1)."""
    if keep >= 1:
        if keep != int(keep) or keep > visual_tokens:
            raise ValueError(f"keep {keep} is not a whole count up to the {visual_tokens} visual tokens")
        return int(keep)
    return max(1, round(keep * visual_tokens))


class TokenPrunePass(Pass):
    """Prune visual tokens inside the language module, keeping task-relevant and diverse ones."""

    name = "token_prune"
    Config = TokenPruneConfig
    families = ("policy", "smolvla")

    def run(self, model: TokenPrunable, ctx: PassContext) -> PassResult:
        config: TokenPruneConfig = self.config  # type: ignore[assignment]
        layers = model.language_layer_count()
        if config.after_layer >= layers:
            raise ValueError(
                f"after_layer {config.after_layer} leaves no layer to prune for ({layers} layers)"
            )
        visual = model.visual_tokens_per_camera()
        keep = token_budget(config.keep, visual)
        model.set_token_budget(config.after_layer, keep, config.keep_top)
        return PassResult(
            model, {"visual_tokens": visual, "kept_tokens": keep, "after_layer": config.after_layer}
        )
