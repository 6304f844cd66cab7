"""Accuracy-guarded OpenVINO INT8 and the per-layer sensitivity ranking, on the demo model at small imgsz."""

import json
from pathlib import Path

import pytest

from edgecompress.backends.openvino_sensitivity import LayerSensitivity, SensitivityResult
from edgecompress.cli import main
from edgecompress.measure.sensitivity import format_table
from edgecompress.report import Report

HEAD_CLS0 = [
    "/model.22/cv3.0/cv3.0.0/conv/Conv",
    "/model.22/cv3.0/cv3.0.1/conv/Conv",
    "/model.22/cv3.0/cv3.0.2/Conv",
]


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, demo_compile_argv, quick_ov_target) -> Path:
    out = tmp_path_factory.mktemp("runs") / "guarded"
    argv = demo_compile_argv(
        "--target", quick_ov_target, "--precision", "int8", "--imgsz", 160, "--out", out, "--quiet",
        "--set", "lower.accuracy_guard.max_drop=0.0", "--set", "lower.accuracy_guard.max_reverted=2",
    )  # fmt: skip
    assert main(argv) == 0
    return out


def test_guarded_compile_reports_settings_result_and_reverted_layers(guarded):
    import openvino as ov

    from edgecompress.backends.openvino_guard import layer_name, quantized_inputs

    report = Report.read(guarded / "report.json")
    baseline, result = report.row("baseline"), report.row("result")
    guard = result.details["accuracy_guard"]
    assert guard["max_drop"] == 0.0 and guard["max_reverted"] == 2 and guard["metric"] == "mAP50-95"
    assert guard["split"] == "val" and guard["images"] == report.data.images == 16
    # the guard validates with the report's own metric on the same images
    assert guard["fp32"] == pytest.approx(baseline.accuracy.map50_95, abs=1e-3)
    assert guard["result"] == pytest.approx(result.accuracy.map50_95, abs=2e-3)
    drop = baseline.accuracy.map50_95 - result.accuracy.map50_95
    if guard["met"]:
        assert drop <= guard["max_drop"] + 2e-3
    else:
        assert guard["drop"] > guard["max_drop"]
    # plain PTQ loses accuracy here, so the guard must have put layers back into float ...
    assert guard["fp32"] - guard["int8_ptq"] > guard["max_drop"]
    assert len(guard["reverted_layers"]) >= 1 and guard["quantized_ops"] < guard["quantized_ops_ptq"]
    # ... and the saved model really has no quantized input on them, and still keeps decoding in float
    saved = quantized_inputs(ov.Core().read_model(str(guarded / "openvino" / "model.xml")))
    names = {layer_name(n) for n in saved}
    assert not set(guard["reverted_layers"]) & names
    assert len(saved) == guard["quantized_ops"]
    assert all(
        not n.startswith("/model.22/") or n.startswith(("/model.22/cv2", "/model.22/cv3")) for n in names
    )


@pytest.mark.parametrize(
    "extra",
    [
        ["--precision", "fp32", "--set", "lower.accuracy_guard.max_drop=0.01"],
        ["--target", "x86-cpu-ort", "--set", "lower.accuracy_guard.max_drop=0.01"],
        ["--set", "lower.accuracy_guard.max_drop=-0.1"],
        ["--set", "lower.accuracy_guard.drop=0.01"],
    ],
)
def test_bad_guard_settings_exit_2_without_artifact(tmp_path, capsys, demo_compile_argv, extra):
    out = tmp_path / "out"
    assert main(demo_compile_argv("--out", out, *extra)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "accuracy_guard" in err[0]
    assert not out.exists()


def test_sensitivity_ranks_each_selected_layer_by_loss(demo_model, tiny_digits, capsys):
    argv = ["sensitivity", str(demo_model), "--data", str(tiny_digits), "--imgsz", "96", "--images", "8"]
    assert main([*argv, "--layers", r"/model.22/cv3\.0/", "--json"]) == 0
    ranking = json.loads(capsys.readouterr().out)
    rows = ranking["rows"]
    assert sorted(r["layer"] for r in rows) == HEAD_CLS0  # one row per matching conv
    losses = [r["loss"] for r in rows]
    assert losses == sorted(losses, reverse=True)
    for r in rows:
        assert r["loss"] == pytest.approx(ranking["fp32"] - r["map50_95"], abs=1e-5)
    assert ranking["images"] == 8 and ranking["calibration_images"] == 24
    result = SensitivityResult(**{**ranking, "rows": [LayerSensitivity(**r) for r in rows]})
    table = format_table(result, top=1).splitlines()
    assert table[0].startswith("mAP50-95 on 8 val images: fp32") and len(table) == 2 + 1
    assert table[2].split()[-1] == rows[0]["layer"]
    assert main([*argv, "--layers", "no-such-layer"]) == 2
    assert "no quantizable layer matches" in capsys.readouterr().err
