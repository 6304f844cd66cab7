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
    from edgecompress.report.schema import CalibrationInfo, DataInfo, MeasuredOn, ModelInfo, StageRow


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

    @staticmethod
    def common_context(plan: CompilePlan, adapter: ModelAdapter, work: Path, **extra: Any) -> PassContext:
        """The pass context every family fills the same way, plus the family's ``extra`` fields."""
        from edgecompress.passes.base import PassContext

        return PassContext(
            adapter=adapter,
            work=work,
            data=plan.data,
            imgsz=plan.imgsz,
            teacher=plan.adapter.checkpoint,
            resume=plan.resume,
            stages=tuple(plan.recipe.stages),
            **extra,
        )

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


FLOAT_GRAPH_BACKENDS = ("openvino", "onnxruntime")


def check_float_graph_inputs(
    what: str, profile: TargetProfile, recipe: Recipe, precision: str | None, imgsz: int | None
) -> str:
    """Input checks of a family lowered as FP32 graphs on OpenVINO or ONNX Runtime; its precision."""
    from edgecompress.errors import InputError

    if profile.backend not in FLOAT_GRAPH_BACKENDS:
        raise InputError(
            f"{what}: lowered to OpenVINO or ONNX Runtime only; target {profile.name} uses {profile.backend}",
            "use --target x86-cpu or x86-cpu-ort",
        )
    chosen = precision or recipe.lower.precision or "fp32"
    if chosen != "fp32":
        raise InputError(f"{what}: lowered at fp32, not {chosen}", "pass --precision fp32")
    if imgsz is not None:
        raise InputError(
            f"--imgsz is for detectors, not {what} (it runs at its own image size)", "drop --imgsz"
        )
    return chosen


def float_graph_measured_on(plan: CompilePlan, runtime: Any, imgsz: int) -> MeasuredOn:
    """Where a row of FP32 graphs compiled with f32 forced was measured (no runtime name: PyTorch)."""
    import torch

    from edgecompress.measure.environment import cpu_model, isa_flags
    from edgecompress.report.schema import MeasuredOn

    name = getattr(runtime, "name", "torch")
    return MeasuredOn(
        runtime=name,
        runtime_version=getattr(runtime, "version", torch.__version__.split("+")[0]),
        precision="fp32",
        executed_precision="f32",  # the graphs are always compiled with f32 forced
        device=plan.target.device if name != "torch" else "CPU",
        cpu=cpu_model(),
        isa=isa_flags(),
        threads=plan.target.threads,
        batch=1,
        imgsz=imgsz,
    )
