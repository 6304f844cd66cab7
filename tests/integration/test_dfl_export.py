"""The exported detector's DFL is the softmax-weighted sum, and the ONNX gives the eager model's outputs."""

import numpy as np
import onnx
import onnxruntime as ort

from edgecompress.models.yolo import load_detector

IMGSZ = 64


def test_exported_dfl_has_no_conv_and_matches_eager(tmp_path, demo_model):
    detector = load_detector(demo_model)
    path = detector.export_onnx(tmp_path, IMGSZ)
    dfl_ops = {node.op_type for node in onnx.load(str(path)).graph.node if "/dfl/" in node.name}
    assert "ReduceSum" in dfl_ops and "Conv" not in dfl_ops and "Transpose" not in dfl_ops, dfl_ops
    batch = np.random.default_rng(0).random((1, 3, IMGSZ, IMGSZ), dtype=np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    exported = session.run(None, {session.get_inputs()[0].name: batch})[0]
    eager = detector.torch_runtime(2)(batch)  # Ultralytics' own DFL (conv with weights 0..15)
    np.testing.assert_allclose(exported, eager, rtol=1e-4, atol=1e-3)
