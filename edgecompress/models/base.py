"""The model-family contract: a ModelAdapter holds all knowledge of one model family.

Load and save (the checkpoint round trip), the object passes transform, complexity, the eager
PyTorch runtime. The compile steps that need backends and measurement (lowering, rows, artifact
files) are the family's :class:`~edgecompress.families.base.CompileFamily`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar


class ModelAdapter(ABC):
    """One loaded model of a family."""

    family: ClassVar[str]  # the recipe/pass family key ("yolo", "policy")
    task: ClassVar[str]  # the report's task ("detect", "action")
    checkpoint: Path

    @classmethod
    @abstractmethod
    def load(cls, path: str | Path) -> ModelAdapter:
        """Load a checkpoint of this family; one clear InputError for each bad input."""

    @property
    @abstractmethod
    def input_size(self) -> int:
        """The input size the model was trained at."""

    @abstractmethod
    def editable(self) -> Any:
        """The object a pass transforms (a copy where the passes edit in place)."""

    @abstractmethod
    def with_model(self, model: Any, path: Path) -> ModelAdapter:
        """Save a transformed ``model`` as a checkpoint of this family at ``path`` and load it back."""

    @abstractmethod
    def complexity(self, imgsz: int) -> tuple[int, float]:
        """Parameters and GFLOPs of one inference at ``imgsz``."""

    @abstractmethod
    def torch_runtime(self, threads: int | None) -> Any:
        """The eager PyTorch runtime (the report's ``original`` row)."""

    def fingerprint(self) -> str:
        """sha256 of the checkpoint (a resumed compile checks that the model did not change)."""
        from edgecompress.artifact import sha256_file

        return sha256_file(self.checkpoint)
