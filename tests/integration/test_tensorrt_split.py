"""A TensorRT target compiles on a machine without TensorRT: the rows are measured on ONNX Runtime CPU,
the artifact holds the TensorRT-ready ONNX (explicit Q/DQ for INT8) and waits for `edgecompress lower`."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import edgecompress
from edgecompress.artifact import CHECKSUMS, MANIFEST, Manifest, write_checksums
from edgecompress.backends import get_backend
from edgecompress.cli import main
from edgecompress.errors import InputError
from edgecompress.families.yolo_rows import STAND_IN_ITERATIONS
from edgecompress.report import Report
from edgecompress.report.render import speedup_line

pytestmark = pytest.mark.skipif(
    get_backend("tensorrt").available() is None,
    reason="TensorRT runs here: the engine is built, not deferred",
)


@pytest.fixture(scope="module")
def quick_orin(tmp_path_factory) -> Path:
    """orin-nx with its own 500-iteration latency setting: the CPU stand-in caps it."""
    profile = yaml.safe_load((Path(__file__).resolve().parents[2] / "targets" / "orin-nx.yaml").read_text())
    assert profile["latency"]["iterations"] > STAND_IN_ITERATIONS
    path = tmp_path_factory.mktemp("targets") / "quick-orin.yaml"
    path.write_text(yaml.safe_dump(profile))
    return path


def _compile(out: Path, argv, target: Path, *extra: object) -> Path:
    assert main(argv("--target", target, "--imgsz", 160, "--out", out, "--quiet", *extra)) == 0
    return out


@pytest.fixture(scope="module")
def int8_split(tmp_path_factory, demo_compile_argv, quick_orin) -> Path:
    return _compile(
        tmp_path_factory.mktemp("runs") / "orin-int8", demo_compile_argv, quick_orin, "--precision", "int8"
    )


@pytest.fixture(scope="module")
def fp16_split(tmp_path_factory, demo_compile_argv, quick_orin) -> Path:
    out = tmp_path_factory.mktemp("runs") / "orin-fp16"
    return _compile(out, demo_compile_argv, quick_orin, "--set", "measure.baseline=false")


def _qdq_count(path: Path) -> int:
    import onnx

    return sum(n.op_type == "QuantizeLinear" for n in onnx.load(str(path)).graph.node)


def test_int8_artifact_holds_qdq_onnx_and_waits_for_the_engine(int8_split):
    names = {p.relative_to(int8_split).as_posix() for p in int8_split.rglob("*") if p.is_file()}
    assert {"tensorrt/model.onnx", "model.onnx", "model.pt", MANIFEST, "report.json", CHECKSUMS} <= names
    assert not any(n.endswith(".engine") for n in names)
    assert (
        _qdq_count(int8_split / "tensorrt" / "model.onnx") > 50 and _qdq_count(int8_split / "model.onnx") == 0
    )
    manifest = Manifest.read(int8_split)
    assert manifest.backend == "tensorrt" and manifest.engine_pending and manifest.built_with == {}
    assert manifest.onnx_file == "tensorrt/model.onnx" and manifest.precision == "int8"


def test_int8_rows_are_labelled_with_the_cpu_runtime_and_score_near_fp32(int8_split):
    report = Report.read(int8_split / "report.json")
    assert [r.kind for r in report.rows] == ["original", "baseline", "result"]
    baseline, result = report.row("baseline"), report.row("result")
    assert baseline.measured_on.runtime == result.measured_on.runtime == "onnxruntime"
    assert baseline.measured_on.precision == "fp32" and result.measured_on.precision == "int8"
    assert report.precision == "int8" and report.target["backend"] == "tensorrt"
    assert "edgecompress lower" in result.details["engine"]
    assert result.latency.iterations == STAND_IN_ITERATIONS  # not the device's 500 on a stand-in
    assert "standing in for the device" in speedup_line(report)
    assert (
        result.details["quantizer"].startswith("nvidia-modelopt")
        and result.details["calibration_images"] == 24
    )
    assert result.details["float_decode_ops"] > 0
    assert report.calibration.count == 24
    assert result.accuracy.map50 > 0.5
    assert abs(result.accuracy.map50_95 - baseline.accuracy.map50_95) < 0.05


def _ov_map(onnx: Path, tiny_digits: Path) -> float:
    from edgecompress.config import load_target
    from edgecompress.data import load_split
    from edgecompress.measure.accuracy import evaluate

    profile = load_target("x86-cpu")
    runtime = get_backend("openvino").load(onnx, profile, "fp32")
    return evaluate(runtime, load_split(tiny_digits, "val"), 160, label="openvino").map50_95


def test_qdq_onnx_keeps_modelopt_graph_and_openvino_gets_a_guarded_copy(int8_split, tmp_path):
    import onnx

    from edgecompress.backends.tensorrt_onnx import openvino_ready_onnx

    shipped = int8_split / "tensorrt" / "model.onnx"
    graph = onnx.load(str(shipped)).graph
    producer = {o: n for n in graph.node for o in n.output}
    quantized_convs = [
        n
        for n in graph.node
        if n.op_type == "Conv" and all(producer[i].op_type == "DequantizeLinear" for i in n.input[:2])
    ]
    assert len(quantized_convs) > 50  # activations and weights: what TensorRT fuses into INT8 convs
    assert not any(n.name.endswith("_ec_guard") for n in graph.node)  # TensorRT gets ModelOpt's graph
    concat_quantizers = [
        n
        for n in graph.node
        if n.op_type == "QuantizeLinear" and producer.get(n.input[0], n).op_type == "Concat"
    ]
    assert concat_quantizers
    guarded = onnx.load(str(openvino_ready_onnx(shipped, tmp_path))).graph
    made = {o: n for n in guarded.node for o in n.output}
    guards = [n for n in guarded.node if n.name.endswith("_ec_guard")]
    assert len(guards) == len(concat_quantizers)
    assert all(n.op_type == "Max" and made[n.input[0]].op_type == "Concat" for n in guards)
    plain = int8_split / "model.onnx"
    assert openvino_ready_onnx(plain, tmp_path) == plain  # no Q/DQ: as is


def test_qdq_onnx_under_openvino_scores_near_fp32(int8_split, tiny_digits):
    fp32 = _ov_map(int8_split / "model.onnx", tiny_digits)
    assert abs(_ov_map(int8_split / "tensorrt" / "model.onnx", tiny_digits) - fp32) < 0.05


def test_fp16_artifact_ships_the_fp32_onnx_for_the_builder(fp16_split):
    onnx = fp16_split / "tensorrt" / "model.onnx"
    assert onnx.read_bytes() == (fp16_split / "model.onnx").read_bytes()
    result = Report.read(fp16_split / "report.json").row("result")
    assert result.measured_on.runtime == "onnxruntime" and result.measured_on.precision == "fp32"
    assert result.details["engine_precision"] == "fp16" and "FP16" in result.details["note"]
    assert Manifest.read(fp16_split).engine_pending


def test_load_and_run_say_to_lower_on_the_device(fp16_split, tiny_digits, capsys):
    with pytest.raises(InputError, match=r"no engine yet.*edgecompress lower"):
        edgecompress.load(fp16_split)
    image = sorted((tiny_digits.parent / "images" / "val").glob("*.jpg"))[0]
    capsys.readouterr()
    assert main(["run", str(fp16_split), "--source", str(image)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "edgecompress lower" in err[0]


def test_lower_without_tensorrt_is_one_line_and_leaves_the_artifact(fp16_split, capsys):
    before = (fp16_split / CHECKSUMS).read_text()
    assert main(["lower", str(fp16_split), "--target", "orin-nx"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "TensorRT not installed" in err[0] and "run this on the Jetson" in err[0], err
    assert (fp16_split / CHECKSUMS).read_text() == before
    assert not list(fp16_split.parent.glob("*.partial-*"))


def test_lower_refuses_a_non_tensorrt_artifact(ort_artifact, capsys):
    assert main(["lower", str(ort_artifact)]) == 2
    assert "not TensorRT" in capsys.readouterr().err


def test_load_refuses_an_engine_built_for_other_versions(fp16_split, tmp_path, monkeypatch):
    from edgecompress.backends import tensorrt, tensorrt_build

    art = tmp_path / "built"
    shutil.copytree(fp16_split, art)
    manifest = json.loads((art / MANIFEST).read_text())
    recorded = {"tensorrt": "10.3.0", "cuda": "12.6", "l4t": "36.4.0", "gpu": "Orin"}
    manifest.update(engine_pending=False, built_with=recorded)
    (art / MANIFEST).write_text(json.dumps(manifest))
    (art / "tensorrt" / "model.engine").write_bytes(np.arange(64, dtype=np.uint8).tobytes())
    write_checksums(art)
    monkeypatch.setattr(tensorrt.TensorRTBackend, "available", lambda self: None)
    monkeypatch.setattr(tensorrt_build, "installed_versions", lambda: {**recorded, "tensorrt": "10.7.0"})
    with pytest.raises(InputError, match=r"tensorrt 10\.3\.0 \(engine\) vs 10\.7\.0 \(here\).*rebuild"):
        edgecompress.load(art)


def test_openvino_load_of_qdq_onnx_leaves_no_temp_folder(int8_split, tmp_path, monkeypatch):
    import tempfile

    from edgecompress.backends import get_backend
    from edgecompress.config import load_target

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    qdq = int8_split / "tensorrt" / "model.onnx"
    runtime = get_backend("openvino").load(qdq, load_target("x86-cpu"), "int8")
    assert runtime is not None
    assert not list(tmp_path.glob("ec-ov-qdq-*"))  # the guarded copy is gone once OpenVINO compiled it
