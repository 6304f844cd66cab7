"""End to end on CPU: compile a real Ultralytics model, check the artifact, report and deploy API."""

import json
from pathlib import Path

import pytest

import edgecompress
from edgecompress.artifact import CHECKSUMS
from edgecompress.cli import main
from edgecompress.errors import InputError
from edgecompress.report import Report


@pytest.fixture(scope="module")
def int8_artifact(tmp_path_factory, demo_compile_argv, quick_ov_target) -> Path:
    out = tmp_path_factory.mktemp("runs") / "demo-int8"
    argv = demo_compile_argv("--target", quick_ov_target, "--precision", "int8", "--out", out, "--quiet")
    assert main(argv) == 0
    return out


def test_artifact_has_every_promised_file(int8_artifact):
    names = {p.relative_to(int8_artifact).as_posix() for p in int8_artifact.rglob("*") if p.is_file()}
    expected = {
        "openvino/model.xml",
        "openvino/model.bin",
        "model.onnx",
        "model.pt",
        "recipe.yaml",
        "target.yaml",
        "artifact.json",
        "report.json",
        "report.md",
        "report.png",
        CHECKSUMS,
    }
    assert expected <= names
    listed = {line.split(maxsplit=1)[1] for line in (int8_artifact / CHECKSUMS).read_text().splitlines()}
    assert listed == names - {CHECKSUMS}


def test_report_has_baseline_and_int8_result_measured_on_openvino(int8_artifact):
    report = Report.read(int8_artifact / "report.json")
    kinds = [r.kind for r in report.rows]
    assert kinds == ["original", "baseline", "result"]
    result, baseline = report.row("result"), report.row("baseline")
    assert result.measured_on.runtime == "openvino" and result.measured_on.precision == "int8"
    assert baseline.measured_on.precision == "fp32"
    # what OpenVINO actually ran is read back: FP32 is forced to f32 even on BF16 CPUs; INT8's float
    # parts run in the plugin's fastest type (bf16 where the CPU has it)
    from edgecompress.measure.environment import cpu_has_bf16, isa_flags

    assert baseline.measured_on.executed_precision == "f32"
    assert result.measured_on.executed_precision == ("bf16" if cpu_has_bf16() else "f32")
    assert result.measured_on.isa == isa_flags() and report.environment["isa"] == isa_flags()
    for row in report.rows:
        assert row.latency.iterations == 5 and row.latency.p50_ms > 0 and row.measured_on.imgsz == 320
        assert row.measured_on.cpu and row.measured_on.runtime_version
        assert 0.0 <= row.accuracy.map50_95 <= row.accuracy.map50 <= 1.0
    # the demo model is trained: INT8 keeps it useful on unseen digits
    assert result.accuracy.map50 > 0.5
    assert abs(result.accuracy.map50_95 - baseline.accuracy.map50_95) < 0.1
    assert report.data.images == 16 and report.calibration.count == 24
    assert len(report.calibration.images_sha256) == 24
    assert "openvino/model.xml" in report.artifact_files
    # NNCF's fast and full bias correction are both tried and scored on seeded train images (full
    # wins on the pruned DeepPCB model by 3.6 points, fast on the unpruned one by 0.6); the higher is kept
    assert result.details["quantizer"].startswith("nncf")
    chosen = result.details["bias_correction_choice"]
    assert chosen["split"] == "train" and chosen["images"] == 24 and chosen["seed"] == 1
    best = "fast" if chosen["scores"]["fast"] > chosen["scores"]["full"] else "full"
    assert result.details["bias_correction"] == chosen["chosen"] == best


def test_markdown_report_is_rendered_from_json(int8_artifact, capsys):
    report = Report.read(int8_artifact / "report.json")
    md = (int8_artifact / "report.md").read_text()
    assert f"{report.row('result').accuracy.map50_95:.3f}" in md
    (int8_artifact / "report.md").unlink()
    try:
        assert main(["report", str(int8_artifact)]) == 0
        assert (int8_artifact / "report.md").read_text() == md
        capsys.readouterr()
        assert main(["report", str(int8_artifact), "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == json.loads((int8_artifact / "report.json").read_text())
    finally:
        (int8_artifact / "report.md").write_text(md)


def test_terminal_summary_fits_80_columns_with_the_speedup_and_report_path(int8_artifact, capsys):
    import argparse

    from rich.console import Console

    from edgecompress.cli import _print_artifact
    from edgecompress.report.render import speedup_line, summary_table

    report = Report.read(int8_artifact / "report.json")
    console = Console(width=80, record=True)
    console.print(summary_table(report))
    text = console.export_text()
    assert "…" not in text and max(len(line.rstrip()) for line in text.splitlines()) <= 80
    assert "int8/f32" in text or "int8/bf16" in text  # the precision OpenVINO ran the float parts in
    line = speedup_line(report)
    assert line.startswith("Result vs baseline: ") and "× p50 speed-up, mAP50-95 " in line
    assert f"**{line.split(': ')[1].split(' ')[0]}**" in (int8_artifact / "report.md").read_text()
    capsys.readouterr()
    assert _print_artifact(int8_artifact, argparse.Namespace(json=False, quiet=False)) == 0
    printed = capsys.readouterr()
    assert printed.out.strip() == str(int8_artifact)
    assert line in printed.err and f"report: {int8_artifact / 'report.md'}" in printed.err


def test_load_and_predict_on_demo_images(int8_artifact, tiny_digits):
    detector = edgecompress.load(int8_artifact)
    images = sorted((tiny_digits.parent / "images" / "val").glob("*.jpg"))[:4]
    results = detector.predict([str(p) for p in images])
    assert sum(len(r) for r in results) >= 4
    assert set(results[0].labels) <= set("0123456789")


def test_load_refuses_a_tampered_artifact(int8_artifact, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(int8_artifact, copy)
    with (copy / "openvino" / "model.bin").open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(InputError, match="changed since compile"):
        edgecompress.load(copy)


def test_console_script_quiet_prints_only_the_path(tmp_path, demo_compile_argv, quick_ov_target):
    import subprocess
    import sys

    out = tmp_path / "demo-int8-quiet"
    argv = demo_compile_argv("--target", quick_ov_target, "--out", out, "--quiet")
    command = [sys.executable, "-m", "edgecompress.cli", *argv]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == str(out)
    assert "No CUDA runtime" not in done.stderr  # torch's CUDA_HOME probe, set off by NNCF's import
    assert Report.read(out / "report.json").row("result").measured_on.precision == "int8"


def test_onnxruntime_target_compiles_fp32(tmp_path, demo_compile_argv, tiny_digits):
    out = tmp_path / "demo-ort"
    argv = demo_compile_argv(
        "--target", "x86-cpu-ort", "--set", "measure.baseline=false", "--out", out, "--quiet"
    )
    assert main(argv) == 0
    report = Report.read(out / "report.json")
    assert [r.kind for r in report.rows] == ["result"]
    assert report.row("result").measured_on.runtime == "onnxruntime"
    assert report.row("result").details["input_format"] == "float_nchw"  # auto: uint8 only on OpenVINO
    detector = edgecompress.load(out)
    assert not detector.runtime.takes_uint8_images
    image = sorted((tiny_digits.parent / "images" / "val").glob("*.jpg"))[0]
    assert len(detector.predict(str(image))) >= 1


def test_json_flag_prints_only_the_report(tmp_path, capsys, demo_compile_argv, quick_ort_target):
    out = tmp_path / "json"
    assert main(demo_compile_argv("--target", quick_ort_target, "--out", out, "--json")) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((out / "report.json").read_text())
