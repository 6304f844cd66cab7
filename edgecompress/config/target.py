"""Target device profiles (``targets/*.yaml``): which runtime, precisions and threads a device uses."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edgecompress.config.loading import parse_yaml_model, resolve_yaml

Precision = Literal["fp32", "bf16", "fp16", "int8"]
BackendName = Literal["openvino", "onnxruntime", "tensorrt"]


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid")


class LatencySettings(StrictModel):
    """How latency is measured on the target runtime."""

    warmup: int = Field(10, ge=0)
    iterations: int = Field(100, ge=1)
    batch: int = Field(1, ge=1)


class TensorRTSettings(StrictModel):
    """Engine-build options used on the device."""

    workspace_gb: float = Field(2.0, gt=0)
    dla_core: int | None = Field(None, ge=0)
    gpu_fallback: bool = True


class TargetProfile(StrictModel):
    """One edge device: the backend that lowers for it and how to measure there."""

    name: str
    description: str
    backend: BackendName
    device: str = "CPU"
    precisions: list[Precision]
    default_precision: Precision
    threads: int | None = Field(None, ge=1, description="inference threads; None lets the runtime decide")
    build_on_device: bool = False
    latency: LatencySettings = LatencySettings()
    tensorrt: TensorRTSettings | None = None

    @model_validator(mode="after")
    def _default_is_offered(self) -> TargetProfile:
        if self.default_precision not in self.precisions:
            raise ValueError(
                f"default_precision {self.default_precision} is not in precisions {self.precisions}"
            )
        return self


def load_target(name_or_path: str | Path) -> TargetProfile:
    """Load a built-in target by name (``x86-cpu``) or a user's YAML profile by path."""
    return parse_yaml_model(resolve_yaml(name_or_path, "targets"), TargetProfile, "target")
