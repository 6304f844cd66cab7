"""The pass contract: one transformation of a PyTorch model, configured by a pydantic ``Config``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from edgecompress.compiler import CompileContext


class PassConfig(BaseModel):
    """Base for pass settings; unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class PassResult:
    """What a pass hands back: the transformed model and anything it wants in the report."""

    model: Any
    details: dict[str, Any] = field(default_factory=dict)


class Pass(ABC):
    """A compression stage. It transforms the model and does nothing else; the compiler measures."""

    name: ClassVar[str]
    Config: ClassVar[type[PassConfig]] = PassConfig
    families: ClassVar[tuple[str, ...]] = ("yolo",)
    # what the pass reads of the dataset's train split: "" nothing, "images" (statistics), "labels" (training)
    reads_train: ClassVar[str] = ""

    def __init__(self, config: PassConfig) -> None:
        self.config = config

    def train_split_use(self) -> str:
        """What this configured pass reads of the train split ("", "images" or "labels"), checked up front."""
        return self.reads_train

    @abstractmethod
    def run(self, model: Any, ctx: CompileContext) -> PassResult:
        """Return the transformed ``model``."""
