"""The MAVLink sink's camera YAML: plain intrinsics or ROS camera_info, and one clear error otherwise."""

import math

import pytest

from edgecompress.errors import InputError
from edgecompress.stream.sinks.mavlink import load_camera

GOOD = "width: 640\nheight: 480\nfx: 500\nfy: 400\ncx: 320\ncy: 240\n"
CAMERA_INFO = """image_width: 640
image_height: 480
camera_name: down
camera_matrix:
  rows: 3
  cols: 3
  data: [500.0, 0.0, 320.0, 0.0, 400.0, 240.0, 0.0, 0.0, 1.0]
distortion_model: plumb_bob
"""


def test_plain_and_camera_info_yaml_give_the_same_intrinsics(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(CAMERA_INFO)
    a, b = load_camera(tmp_path / "a.yaml"), load_camera(tmp_path / "b.yaml")
    assert a == b
    assert a.angles(320, 240, (480, 640)) == (0.0, 0.0)
    x, y = a.angles(820, 640, (480, 640))
    assert x == pytest.approx(math.pi / 4) and y == pytest.approx(math.pi / 4)
    # a frame at half the calibrated size maps back to calibration pixels
    assert a.angles(410, 320, (240, 320)) == pytest.approx((x, y))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (None, "not found"),
        ("width: [640\n", "not valid YAML"),
        ("- 1\n- 2\n", "must be a mapping"),
        ("width: 640\nheight: 480\nfy: 400\ncx: 320\ncy: 240\n", "fx: Field required"),
        (GOOD.replace("fx: 500", "fx: -5"), "fx: Input should be greater than 0"),
        (GOOD + "k1: 0.1\n", "k1: Extra inputs are not permitted"),
        (CAMERA_INFO.replace("0.0, 0.0, 1.0]", "0.0]"), "camera_matrix.data must list 9 numbers"),
    ],
)
def test_bad_camera_yaml_is_one_clear_input_error(tmp_path, text, words):
    path = tmp_path / "cam.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(InputError, match=words) as info:
        load_camera(path)
    assert "\n" not in str(info.value) and "width, height, fx, fy, cx, cy" in str(info.value)
