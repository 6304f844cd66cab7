"""The versioned schema of ``report.json``. Every measured number carries where it was measured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

REPORT_SCHEMA_VERSION = "1.1"  # 1.1 added MeasuredOn.executed_precision and .isa; 1.0 reads as is


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MeasuredOn(_Strict):
    """Where and how a row's numbers were measured."""

    runtime: str
    runtime_version: str
    precision: str
    executed_precision: str | None = Field(
        None, description="the precision the runtime reports it ran (read back, e.g. OpenVINO's bf16 default)"
    )
    device: str
    cpu: str
    isa: list[str] = Field(default_factory=list, description="the CPU's AVX2/AVX-512/VNNI/BF16/AMX flags")
    threads: int | None
    batch: int
    imgsz: int


class LatencyRow(_Strict):
    """Latency per call (one batch), milliseconds."""

    p50_ms: float
    p95_ms: float
    mean_ms: float
    fps: float
    warmup: int
    iterations: int


class AccuracyRow(_Strict):
    """Box mAP on the full split named in :class:`DataInfo`."""

    map50: float
    map50_95: float


class PolicyAccuracyRow(_Strict):
    """A policy's accuracy: action-chunk error on held-out demonstrations, success rate where run."""

    action_mse: float = Field(description="mean squared error of predicted vs expert action chunks")
    frames: int = Field(description="held-out frames scored, fixed noise seed")
    success_rate: float | None = None
    episodes: int | None = None


class StageRow(_Strict):
    """One model state measured on one runtime: the original, the lowered baseline, a stage, the result."""

    name: str
    kind: Literal["original", "baseline", "stage", "result"]
    measured_on: MeasuredOn
    params: int
    gflops: float
    accuracy: AccuracyRow | None = None
    policy: PolicyAccuracyRow | None = None
    latency: LatencyRow | None = None
    wall_s: float | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class ModelInfo(_Strict):
    """The input model."""

    source: str
    sha256: str
    family: str
    task: str
    names: list[str]
    imgsz: int


class DataInfo(_Strict):
    """The split accuracy was measured on."""

    data_yaml: str
    split: str
    images: int
    instances: int


class CalibrationInfo(_Strict):
    """The images INT8 calibration used."""

    spec: str
    split: str
    count: int
    images_sha256: list[str]


class Report(_Strict):
    """Everything one compile measured."""

    schema_version: str = REPORT_SCHEMA_VERSION
    created: str
    command: str
    model: ModelInfo
    target: dict[str, Any]
    recipe: dict[str, Any]
    precision: str
    environment: dict[str, Any]
    data: DataInfo | None = None
    calibration: CalibrationInfo | None = None
    rows: list[StageRow]
    artifact_files: dict[str, str] = Field(default_factory=dict, description="lowered files and their sha256")
    total_wall_s: float

    def row(self, kind: str) -> StageRow | None:
        """The last row of ``kind`` (``result``, ``baseline``, ...)."""
        matches = [r for r in self.rows if r.kind == kind]
        return matches[-1] if matches else None

    def write(self, path: Path) -> None:
        """Write as indented JSON."""
        path.write_text(self.model_dump_json(indent=2) + "\n")

    @classmethod
    def read(cls, path: Path) -> Report:
        """Read and validate ``report.json``."""
        return cls.model_validate(json.loads(path.read_text()))
