"""report.json 2.0: a row's family metrics in one typed mapping; 1.x reports still read."""

import json

import pytest

from edgecompress.report.schema import REPORT_SCHEMA_VERSION, AccuracyRow, PolicyAccuracyRow, StageRow

MEASURED_ON = {
    "runtime": "openvino",
    "runtime_version": "2026.4.1",
    "precision": "fp32",
    "device": "CPU",
    "cpu": "x",
    "threads": 2,
    "batch": 1,
    "imgsz": 320,
}


def _row(**family: object) -> dict:
    return {
        "name": "result",
        "kind": "result",
        "measured_on": MEASURED_ON,
        "params": 1,
        "gflops": 0.5,
        **family,
    }


def test_version_1_rows_become_typed_metrics():
    detector = StageRow.model_validate(_row(accuracy={"map50": 0.9, "map50_95": 0.6}))
    policy = StageRow.model_validate(_row(policy={"action_mse": 0.01, "frames": 40}))
    assert isinstance(detector.metrics, AccuracyRow) and detector.metrics.task == "detect"
    assert detector.accuracy.map50_95 == 0.6 and detector.policy is None
    assert isinstance(policy.metrics, PolicyAccuracyRow) and policy.policy.frames == 40
    assert policy.accuracy is None


def test_a_2_0_row_writes_metrics_only_and_reads_back_the_same():
    row = StageRow.model_validate(_row(accuracy=AccuracyRow(map50=0.9, map50_95=0.6)))
    written = json.loads(row.model_dump_json())
    assert "accuracy" not in written and written["metrics"] == {
        "task": "detect",
        "map50": 0.9,
        "map50_95": 0.6,
    }
    assert StageRow.model_validate(written) == row
    assert REPORT_SCHEMA_VERSION == "2.1"


def test_metrics_of_an_unknown_task_are_refused():
    with pytest.raises(ValueError, match="task"):
        StageRow.model_validate(_row(metrics={"task": "segment", "map50": 0.1}))
