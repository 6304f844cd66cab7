"""The versioned schema of ``report.json``. Every measured number carries where it was measured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# 1.1 added MeasuredOn.executed_precision and .isa; 2.0 puts a row's family metrics in one typed
# ``metrics`` mapping (``task`` tells which) instead of the two fields ``accuracy`` and ``policy``.
# 1.x reports read as they are (their rows are upgraded on load). 2.1 added PolicyAccuracyRow.reference.
REPORT_SCHEMA_VERSION = "2.1"


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

    @classmethod
    def of(cls, latency: Any) -> LatencyRow:
        """The row of a ``measure_latency`` / ``time_calls`` result."""
        return cls(
            p50_ms=latency.p50_ms,
            p95_ms=latency.p95_ms,
            mean_ms=latency.mean_ms,
            fps=latency.fps,
            warmup=latency.warmup,
            iterations=latency.iterations,
        )


class AccuracyRow(_Strict):
    """Box mAP on the full split named in :class:`DataInfo`."""

    task: Literal["detect"] = "detect"

    map50: float
    map50_95: float


class PolicyAccuracyRow(_Strict):
    """A policy's accuracy: action-chunk error on held-out demonstrations, success rate where run."""

    task: Literal["action"] = "action"

    action_mse: float = Field(description="mean squared error of predicted action chunks vs the reference's")
    frames: int = Field(description="held-out frames scored, fixed noise seed")
    reference: Literal["demonstrations", "original"] = Field(
        "demonstrations",
        description="what action_mse compares with: the expert's actions in held-out demonstrations, or "
        "the uncompressed policy's actions in PyTorch on the same seeded observations and noise",
    )
    success_rate: float | None = None
    episodes: int | None = None


class StageRow(_Strict):
    """One model state measured on one runtime: the original, the lowered baseline, a stage, the result."""

    name: str
    kind: Literal["original", "baseline", "stage", "result"]
    measured_on: MeasuredOn
    params: int
    gflops: float
    metrics: Annotated[AccuracyRow | PolicyAccuracyRow, Field(discriminator="task")] | None = Field(
        None, description="the family's accuracy: mAP (task detect) or action error (task action)"
    )
    latency: LatencyRow | None = None
    wall_s: float | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _family_fields_to_metrics(cls, data: Any) -> Any:
        """Rows of 1.x reports (and ``accuracy=`` / ``policy=`` arguments) become ``metrics``."""
        if not isinstance(data, dict) or not ({"accuracy", "policy"} & set(data)):
            return data
        data = dict(data)
        for key, task in (("accuracy", "detect"), ("policy", "action")):
            value = data.pop(key, None)
            if value is not None:
                data["metrics"] = {**value, "task": task} if isinstance(value, dict) else value
        return data

    @property
    def accuracy(self) -> AccuracyRow | None:
        """A detector row's mAP (None for other families)."""
        return self.metrics if isinstance(self.metrics, AccuracyRow) else None

    @property
    def policy(self) -> PolicyAccuracyRow | None:
        """A policy row's action error (None for other families)."""
        return self.metrics if isinstance(self.metrics, PolicyAccuracyRow) else None


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
