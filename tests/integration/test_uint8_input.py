"""``lower.input_format``: on OpenVINO the detector takes the uint8 image by default, with the same boxes."""

from pathlib import Path

import numpy as np
import pytest

import edgecompress
from edgecompress.backends.openvino_input import to_uint8_nhwc
from edgecompress.cli import main
from edgecompress.report import Report
from edgecompress.runtime.preprocess import preprocess, read_image
from tests.integration.test_backend_parity import assert_same_boxes

IMGSZ = 160


def _compile(demo_model: Path, data: Path, target: Path, out: Path, *settings: str) -> None:
    argv = ["compile", str(demo_model), "--data", str(data), "--target", str(target), "--precision", "int8"]
    argv += [
        "--imgsz",
        str(IMGSZ),
        "--set",
        "measure.baseline=false",
        "--set",
        "lower.bias_correction=fast",
        *settings,
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(argv) == 0


@pytest.fixture(scope="module")
def float_and_uint8(demo_model, tiny_digits, quick_ov_target, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("uint8-input")
    _compile(
        demo_model, tiny_digits, quick_ov_target, folder / "float", "--set", "lower.input_format=float_nchw"
    )
    _compile(demo_model, tiny_digits, quick_ov_target, folder / "uint8")  # the default on OpenVINO
    return folder / "float", folder / "uint8"


@pytest.mark.timeout(600)
def test_uint8_input_gives_the_float_models_outputs_and_boxes(float_and_uint8, tiny_digits):
    float_art, uint8_art = float_and_uint8
    as_float, as_uint8 = edgecompress.load(float_art), edgecompress.load(uint8_art)
    assert not as_float.runtime.takes_uint8_images and as_uint8.runtime.takes_uint8_images
    assert Report.read(uint8_art / "report.json").row("result").details["input_format"] == "uint8_nhwc"
    assert Report.read(float_art / "report.json").row("result").details["input_format"] == "float_nchw"
    images = sorted((Path(tiny_digits).parent / "images" / "val").glob("*.jpg"))
    compared = 0
    for image in images:
        batch, _ = preprocess([read_image(image)], IMGSZ)
        pixels = as_uint8.runtime.native_input(batch)
        assert pixels.dtype == np.uint8 and pixels.shape == (1, IMGSZ, IMGSZ, 3)
        np.testing.assert_array_equal(pixels, to_uint8_nhwc(batch))
        # the same quantized graph, fed the same pixels: the outputs agree to float rounding
        np.testing.assert_allclose(as_uint8.runtime(pixels), as_float.runtime(batch), rtol=1e-4, atol=1e-3)
        compared += assert_same_boxes(as_float.predict(str(image)), as_uint8.predict(str(image)), image.name)
    assert compared > 0


def test_uint8_input_only_for_openvino(capsys, tmp_path, demo_model, tiny_digits, quick_ort_target):
    out = tmp_path / "art"
    argv = ["compile", str(demo_model), "--data", str(tiny_digits), "--target", str(quick_ort_target)]
    code = main([*argv, "--set", "lower.input_format=uint8_nhwc", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "lower.input_format uint8_nhwc is for OpenVINO" in err[0], err
    assert not out.exists()
