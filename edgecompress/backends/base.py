"""The backend contract: say whether it can run here, lower an ONNX model, load the result."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from edgecompress.config.target import TargetProfile


Graph = Callable[[dict[str, np.ndarray]], list[np.ndarray]]
"""A loaded graph with named inputs (those it does not read are dropped), returning its outputs in order."""


class Runtime(ABC):
    """A loaded model: a callable on an NCHW float32 batch returning the raw head output."""

    name: ClassVar[str]
    precision: str = "fp32"
    # the float precision the runtime reports it runs (OpenVINO: read back from the compiled model,
    # which on BF16 CPUs is bf16 unless f32 is asked for); None where the runtime cannot say
    executed_precision: str | None = None
    # True where the model takes the letterboxed uint8 image (N, H, W, 3) instead of float NCHW
    takes_uint8_images: bool = False

    @abstractmethod
    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Run one batch: float32 NCHW in [0, 1], or the uint8 NHWC image where ``takes_uint8_images``."""

    def native_input(self, batch: np.ndarray) -> np.ndarray:
        """``batch`` (float32 NCHW in [0, 1]) as the model takes it; timers convert once, before timing."""
        return batch

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


@dataclass
class AccuracyGuard:
    """Accuracy-controlled INT8: keep layers in float until the metric drops at most ``max_drop``.

    ``metric(runtime, items)`` scores a runtime on validation ``items`` (higher is better) and also
    returns one value per item; ``settings`` are recorded in the report as they are.
    """

    max_drop: float
    items: Sequence[Any]
    metric: Callable[[Runtime, Sequence[Any]], tuple[float, list[float]]]
    max_reverted: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class QuantizationChoice:
    """How a backend settles its post-training quantization options that no rule picks well.

    ``bias_correction`` (OpenVINO/NNCF): ``fast``, ``full`` or ``auto``: quantize both ways and keep
    the one ``metric(runtime, items)`` scores higher on the labelled ``items`` (images of the train
    split, never the scored one). Without ``items`` ``auto`` means ``full``. ``settings`` go to the
    report as they are.
    """

    bias_correction: str = "full"
    items: Sequence[Any] = ()
    metric: Callable[[Runtime, Sequence[Any]], tuple[float, list[float]]] | None = None
    settings: dict[str, Any] = field(default_factory=dict)


class Backend(ABC):
    """Lowers an ONNX model for one runtime and loads the result.

    A backend whose model is built on the device (``builds_on_device``: TensorRT engines) can still be
    compiled for anywhere: ``prepare_for_device`` writes what the device builds from, and the rows are
    measured here on ONNX Runtime CPU; ``edgecompress lower`` builds it there.
    """

    name: ClassVar[str]
    install_hint: ClassVar[str] = ""
    builds_on_device: ClassVar[bool] = False

    def check_target(self, profile: TargetProfile, precision: str) -> None:
        """Refuse, before any work, settings this backend could never build (default: accept all)."""
        return None

    def check_prepare_here(self, precision: str) -> None:
        """Raise InputError when ``prepare_for_device`` cannot run here at ``precision``."""
        return None

    def prepare_for_device(
        self, onnx_path: Path, out_dir: Path, precision: str, calibration: list[np.ndarray] | None = None
    ) -> Lowered:
        """Write the file the device builds the model from (``builds_on_device`` backends only)."""
        raise NotImplementedError(f"the {self.name} backend lowers here; it has nothing to build on a device")

    def manifest_fields(self, lowered: Lowered, build_pending: bool) -> dict[str, Any]:
        """Artifact-manifest fields this backend sets beyond the lowered model file (default: none)."""
        return {}

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
        guard: AccuracyGuard | None = None,
        stem: str = "model",
        choice: QuantizationChoice | None = None,
    ) -> Lowered:
        """Write the runtime's model for ``precision`` into ``out_dir``, its files named ``stem``.

        ``guard`` (INT8 only, where the backend supports it) makes quantization accuracy-controlled;
        a model of several graphs (a policy's prefix and denoising steps) lowers each with its own stem.
        ``choice`` settles the backend's own quantization options (backends without any ignore it).
        """

    @abstractmethod
    def load(self, model_file: Path, profile: TargetProfile, precision: str) -> Runtime:
        """Load a lowered single-input model (a detector) for inference with the profile's threads."""

    def load_graph(self, model_file: Path, profile: TargetProfile, precision: str) -> Graph:
        """Load one lowered graph of any inputs, called with a mapping of named arrays."""
        raise NotImplementedError(f"the {self.name} backend loads single-input detectors only")
