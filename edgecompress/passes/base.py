"""The pass contract: one transformation of a model, configured by a pydantic ``Config``.

A pass gets the model to transform and a :class:`PassContext`: the family adapter of the model as it
entered the stage, the stage's work folder, the compile's data and callbacks for what only the
compiler can do (sample calibration inputs, lower and time a candidate on the target). It returns
the new model and the fields it wants in the report; it never imports the compiler.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from edgecompress.models.base import ModelAdapter

# lower a candidate model at FP32 for the compile's target in a folder, time it there:
# returns (p50 ms, "backend precision" it was measured on)
CandidateLatency = Callable[[Any, Path], tuple[float, str]]


@dataclass(frozen=True)
class PassContext:
    """What a pass may read of the compile; immutable, one per stage."""

    adapter: ModelAdapter  # the model as it entered this stage (checkpoint round trip, family knowledge)
    work: Path  # this stage's folder: checkpoints, trainer runs, resume state
    data: Path  # the compile's data: a data.yaml (detectors) or demonstrations (policies)
    imgsz: int  # the compile's input size
    teacher: Path  # checkpoint of the model before compression (distillation teacher)
    resume: bool = False  # continue an unfinished run found in ``work``
    stages: tuple[dict[str, Any], ...] = ()  # the recipe's stages (mask-aware sparsity reads bn_prune's)
    calibration: Callable[[int], Any] | None = None  # a seeded sample of n training inputs
    candidate_latency: CandidateLatency | None = None  # time a candidate on the target
    demonstrations: Any = None  # SmolVLA: the compile's demos, encoded for the policy (a training pass)


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
    def run(self, model: Any, ctx: PassContext) -> PassResult:
        """Return the transformed ``model``."""
