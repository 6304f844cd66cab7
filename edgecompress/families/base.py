"""The family contract the compiler runs on: a ModelAdapter per model, a CompileFamily per compile.

A :class:`~edgecompress.models.base.ModelAdapter` holds what is known of one model (load, save,
complexity, the eager runtime). A :class:`CompileFamily` holds the compile's inputs that only that
family has (a detector's val split and backend; a policy's demonstrations) and the family's steps
around the one loop in :mod:`edgecompress.compiler`: the pass context, lowering, measuring rows, the
artifact's files. Adding a family is an adapter in ``models/``, a module here with its CompileFamily
and its plan function, registered in ``compiler.PLANNERS``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from edgecompress.models.base import ModelAdapter

if TYPE_CHECKING:
    from edgecompress.backends.base import Lowered
    from edgecompress.config import Recipe, TargetProfile
    from edgecompress.passes.base import PassContext
    from edgecompress.report.schema import CalibrationInfo, DataInfo, ModelInfo, StageRow


@dataclass(frozen=True)
class CompilePlan:
    """Everything validated for one compile, shared by every family."""

    family: CompileFamily
    adapter: ModelAdapter  # the model as given
    target: TargetProfile
    recipe: Recipe
    precision: str
    imgsz: int
    data: Path
    out: Path
    force: bool = False
    command: str = ""
    resume: bool = False


@dataclass
class Measured:
    """A lowered (or eager) model to measure and the report row it becomes."""

    name: str
    kind: str  # original | baseline | stage | result
    runtime: Any
    adapter: ModelAdapter
    details: dict[str, Any] | None = None
    wall_s: float | None = None


@dataclass
class LoweredModel:
    """What lowering wrote and the runtime that runs it here."""

    lowered: Lowered
    runtime: Any
    calibration: CalibrationInfo | None = None


class CompileFamily(ABC):
    """One family's steps around the compile loop, holding the inputs only this family has."""

    name: ClassVar[str]

    @abstractmethod
    def pass_context(self, plan: CompilePlan, adapter: ModelAdapter, work: Path) -> PassContext:
        """The context the passes of one stage get."""

    @abstractmethod
    def torch_runtime(self, plan: CompilePlan, adapter: ModelAdapter) -> Any:
        """The eager PyTorch runtime of ``adapter`` as this family measures it (the ``original`` row)."""

    @abstractmethod
    def lower(self, plan: CompilePlan, adapter: ModelAdapter, folder: Path) -> LoweredModel:
        """Lower ``adapter`` at FP32 into ``folder`` (stage and baseline rows)."""

    @abstractmethod
    def lower_result(self, plan: CompilePlan, adapter: ModelAdapter, build: Path, art: Path) -> LoweredModel:
        """Lower the final model at the plan's precision into the artifact folder ``art``."""

    @abstractmethod
    def measure(self, plan: CompilePlan, measured: list[Measured]) -> tuple[list[StageRow], DataInfo | None]:
        """Latency (interleaved) and the family's accuracy of every model, as report rows."""

    @abstractmethod
    def write_files(self, plan: CompilePlan, art: Path, final: ModelAdapter, result: LoweredModel) -> None:
        """The artifact's model files and manifest."""

    @abstractmethod
    def model_info(self, plan: CompilePlan) -> ModelInfo:
        """The report's description of the model as given."""
