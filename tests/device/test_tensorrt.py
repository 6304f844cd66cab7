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
