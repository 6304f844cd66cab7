"""The single-layer INT8 model of the sensitivity ranking quantizes exactly that layer."""

import pytest


@pytest.fixture(scope="module")
def float_model(tmp_path_factory, demo_model, tiny_digits):
    import openvino as ov

    from edgecompress.calibration_set import build_calibration_set
    from edgecompress.config.calibration import CalibrationSpec
    from edgecompress.models.yolo import load_detector

    onnx = load_detector(demo_model).export_onnx(tmp_path_factory.mktemp("onnx"), 64)
    calib = build_calibration_set(tiny_digits, CalibrationSpec(name="t", count=4), 64)
    return ov.convert_model(str(onnx)), calib.inputs


def test_only_the_chosen_layer_is_quantized(float_model):
    from edgecompress.backends.openvino import decode_scope_names
    from edgecompress.backends.openvino_guard import quantized_inputs
    from edgecompress.backends.openvino_ptq import quantize
    from edgecompress.backends.openvino_sensitivity import only_layer_quantized, quantizable_layers

    model, calibration = float_model
    ignored = decode_scope_names(model)
    layers = quantizable_layers(model, ignored)
    assert len(layers) == 63 and not any(n.startswith("/model.22/") and "/cv" not in n for n in layers)
    # plain PTQ quantizes every layer (int8 weights; activations at its input or above a Concat) ...
    full = quantized_inputs(quantize(model, calibration, ignored))
    assert all(full.get(n, 0) >= 1 for n in layers) and full["/model.0/conv/Conv/WithoutBiases"] == 2
    # ... and one alone, also one fed by a Concat (whose inputs PTQ quantizes above the Concat)
    for name in ("/model.0/conv/Conv/WithoutBiases", "/model.2/cv2/conv/Conv/WithoutBiases", layers[-1]):
        assert quantized_inputs(only_layer_quantized(model, calibration, name)) == {name: 2}
