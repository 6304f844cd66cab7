"""TensorRT backend: the same contract as the CPU backends. Skipped without CUDA and TensorRT."""

import pytest

from edgecompress.backends import get_backend

reason = get_backend("tensorrt").available()
pytestmark = pytest.mark.skipif(reason is not None, reason=reason or "")


def test_fp32_engine_gives_the_same_boxes_as_torch(tmp_path, demo_model, tiny_digits):
    from edgecompress.config import load_target
    from edgecompress.models.yolo import load_detector
    from edgecompress.runtime.detector import Detector
    from tests.integration.test_backend_parity import assert_same_boxes

    detector = load_detector(demo_model)
    onnx = detector.export_onnx(tmp_path, 320)
    profile = load_target("orin-nx").model_copy(update={"tensorrt": None})
    backend = get_backend("tensorrt")
    lowered = backend.load(backend.lower(onnx, tmp_path / "trt", profile, "fp32").model_file, profile, "fp32")
    engine = Detector(lowered, 320, detector.names)
    reference = Detector(detector.torch_runtime(), 320, detector.names)
    for image in sorted((tiny_digits.parent / "images" / "val").glob("*.jpg")):
        assert_same_boxes(reference.predict(image), engine.predict(image), image.name)


@pytest.fixture(scope="module")
def quick_orin(tmp_path_factory):
    import yaml

    from edgecompress.config import load_target

    profile = load_target("orin-nx").model_dump()
    profile["latency"] = {"warmup": 5, "iterations": 50, "batch": 1}
    path = tmp_path_factory.mktemp("targets") / "quick-orin.yaml"
    path.write_text(yaml.safe_dump(profile))
    return path


def _split_compile(monkeypatch, out, demo_compile_argv, target, precision):
    """Compile as on a workstation without TensorRT (the engine deferred), then lower here."""
    from edgecompress.artifact import Manifest
    from edgecompress.backends.tensorrt import TensorRTBackend
    from edgecompress.cli import main

    with monkeypatch.context() as patch:
        patch.setattr(TensorRTBackend, "available", lambda self: "TensorRT not installed here (simulated)")
        argv = demo_compile_argv("--target", target, "--precision", precision, "--imgsz", 320, "--out", out)
        assert main([*argv, "--quiet"]) == 0
    assert Manifest.read(out).engine_pending
    assert main(["lower", str(out), "--quiet"]) == 0
    return out


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_lower_builds_measures_and_stamps_the_engine(
    precision, tmp_path, monkeypatch, demo_compile_argv, quick_orin, demo_model, tiny_digits
):
    import edgecompress
    from edgecompress.artifact import Manifest, verify_checksums
    from edgecompress.backends.tensorrt_build import installed_versions
    from edgecompress.lower_on_device import ENGINE_ROW
    from edgecompress.models.yolo import load_detector
    from edgecompress.report import Report
    from edgecompress.runtime.detector import Detector
    from tests.integration.test_backend_parity import assert_same_boxes

    art = _split_compile(monkeypatch, tmp_path / precision, demo_compile_argv, quick_orin, precision)
    verify_checksums(art)
    manifest = Manifest.read(art)
    assert not manifest.engine_pending and manifest.model_file == "tensorrt/model.engine"
    assert manifest.built_with == installed_versions() and {"tensorrt", "cuda", "gpu"} <= set(
        manifest.built_with
    )
    report = Report.read(art / "report.json")
    engine_row, cpu_row = report.rows[-1], report.rows[-2]
    assert engine_row.name == ENGINE_ROW and engine_row.measured_on.runtime == "tensorrt"
    assert engine_row.measured_on.precision == precision and engine_row.latency.p50_ms > 0
    assert cpu_row.measured_on.runtime == "onnxruntime"
    assert abs(engine_row.accuracy.map50_95 - cpu_row.accuracy.map50_95) < 0.05
    assert report.environment["tensorrt_engine"] == manifest.built_with
    engine = edgecompress.load(art)
    if precision == "fp32":
        detector = load_detector(demo_model)
        reference = Detector(detector.torch_runtime(), 320, detector.names)
        for image in sorted((tiny_digits.parent / "images" / "val").glob("*.jpg")):
            assert_same_boxes(reference.predict(image), engine.predict(image), image.name)
