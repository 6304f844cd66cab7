"""The backend contract: say whether it can run here, lower an ONNX model, load the result."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

if TYPE_CHECKING:
    from edgecompress.config.target import TargetProfile


class Runtime(ABC):
    """A loaded model: a callable on an NCHW float32 batch returning the raw head output."""

    name: ClassVar[str]
    precision: str = "fp32"

    @abstractmethod
    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Run one batch."""

    @property
    @abstractmethod
    def version(self) -> str:
        """Version of the runtime library."""


@dataclass
class Lowered:
    """What ``lower`` wrote: the file a runtime loads, every file written, and notes for the report."""

    model_file: Path
    files: list[Path]
    details: dict


class Backend(ABC):
    """Lowers an ONNX model for one runtime and loads the result."""

    name: ClassVar[str]

    @abstractmethod
    def available(self) -> str | None:
        """None when usable here, else the reason it is not (with the install hint)."""

    @abstractmethod
    def lower(
        self,
        onnx_path: Path,
        out_dir: Path,
        profile: TargetProfile,
        precision: str,
        calibration: list[np.ndarray] | None = None,
    ) -> Lowered:
        """Write the runtime's model for ``precision`` into ``out_dir``."""

    @abstractmethod
    def load(self, model_file: Path, profile: TargetProfile, precision: str) -> Runtime:
        """Load a lowered model for inference with the profile's threads."""
