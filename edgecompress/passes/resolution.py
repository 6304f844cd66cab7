"""``resolution``: feed the cameras to the vision tower at a lower resolution (fewer patches and tokens).

The vision tower's cost grows with the square of the side; SmolVLA's tower maps any patch grid onto
its position table, so the policy keeps its weights and only its resize-with-padding changes
(512 → 384 px: 24 × 24 patches, 36 visual tokens per camera after the connector instead of 64). The
adapter checks that the side is valid for its vision tower (:class:`Resizable`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pydantic import Field

from edgecompress.passes.base import Pass, PassConfig, PassResult

if TYPE_CHECKING:
    from edgecompress.passes.base import PassContext


class Resizable(Protocol):
    """What ``resolution`` reads and changes of a model."""

    @property
    def input_size(self) -> int:
        """The side the cameras are resized to now."""
        ...

    def set_input_size(self, size: int) -> None:
        """Resize the cameras to ``size``; ValueError if the model cannot take it."""
        ...


class ResolutionConfig(PassConfig):
    """``size``: the new square side in pixels the cameras are resized (and padded) to."""

    size: int = Field(ge=1)


class ResolutionPass(Pass):
    """Lower the camera resolution the policy's vision tower runs at."""

    name = "resolution"
    Config = ResolutionConfig
    families = ("smolvla",)

    def run(self, model: Resizable, ctx: PassContext) -> PassResult:
        config: ResolutionConfig = self.config  # type: ignore[assignment]
        before = model.input_size
        model.set_input_size(config.size)
        return PassResult(model, {"size_before": before, "size": config.size})
