"""CDR conversion of ROS 2 images and detections through the rosbags typestore."""

import cv2
import numpy as np
import pytest

from edgecompress.errors import InputError
from edgecompress.ros import messages as m
from edgecompress.runtime.postprocess import Detections

RNG = np.random.default_rng(0)
BGR = RNG.integers(0, 255, (6, 8, 3), dtype=np.uint8)


def _image_msg(data: np.ndarray, encoding: str, step: int, bigendian: int = 0):
    msg = m.image_to_msg(BGR, m.header(5_000_000_123, "cam"))
    msg.encoding, msg.step, msg.is_bigendian = encoding, step, bigendian
    msg.data = np.ascontiguousarray(data).view(np.uint8).reshape(-1)
    return m.decode(m.encode(msg, m.IMAGE), m.IMAGE)  # through CDR, as from a bag or a topic


def test_bgr8_round_trip_keeps_pixels_and_header():
    msg = m.decode(m.encode(m.image_to_msg(BGR, m.header(5_000_000_123, "cam")), m.IMAGE), m.IMAGE)
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id) == (5, 123, "cam")
    np.testing.assert_array_equal(m.image_from_msg(msg, m.IMAGE), BGR)


def test_encodings_and_row_padding_convert_to_bgr():
    rgb = BGR[:, :, ::-1]
    padded = np.zeros((6, 30), np.uint8)
    padded[:, :24] = rgb.reshape(6, 24)
    np.testing.assert_array_equal(m.image_from_msg(_image_msg(padded, "rgb8", 30), m.IMAGE), BGR)
    bgra = np.dstack([BGR, np.full((6, 8), 7, np.uint8)])
    np.testing.assert_array_equal(m.image_from_msg(_image_msg(bgra, "bgra8", 32), m.IMAGE), BGR)
    grey = BGR[:, :, 0]
    np.testing.assert_array_equal(m.image_from_msg(_image_msg(grey, "mono8", 8), m.IMAGE)[:, :, 2], grey)
    wide = (grey.astype(np.uint16) * 256 + 17).astype(">u2")
    np.testing.assert_array_equal(m.image_from_msg(_image_msg(wide, "mono16", 16, 1), m.IMAGE)[:, :, 1], grey)


@pytest.mark.parametrize(
    ("data", "encoding", "step", "words"),
    [
        (BGR[:, :, 0], "bayer_rggb8", 8, "unsupported image encoding 'bayer_rggb8'"),
        (BGR[:3], "bgr8", 24, "data too short"),
    ],
)
def test_bad_images_are_input_errors(data, encoding, step, words):
    with pytest.raises(InputError, match=words):
        m.image_from_msg(_image_msg(data, encoding, step), m.IMAGE)


def test_compressed_images_decode_and_garbage_does_not():
    types = m.typestore().types
    _, png = cv2.imencode(".png", BGR)
    msg = types[m.COMPRESSED](header=m.header(1, "c"), format="png", data=png.reshape(-1))
    decoded = m.decode(m.encode(msg, m.COMPRESSED), m.COMPRESSED)
    np.testing.assert_array_equal(m.image_from_msg(decoded, m.COMPRESSED), BGR)
    msg.data = np.frombuffer(b"not an image", np.uint8)
    with pytest.raises(InputError, match="cannot decode CompressedImage"):
        m.image_from_msg(msg, m.COMPRESSED)


def test_detection_array_carries_boxes_scores_classes_and_header():
    dets = Detections(
        np.array([[10, 20, 50, 100], [1, 2, 3, 4]], np.float32),
        np.array([0.9, 0.4]),
        np.array([1, 0]),
        ["a", "b"],
    )
    raw = m.encode(m.detections_to_msg(dets, m.header(7_000_000_001, "cam")), m.DETECTIONS)
    msg = m.decode(raw, m.DETECTIONS)
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id) == (7, 1, "cam")
    first = msg.detections[0]
    assert (first.bbox.center.position.x, first.bbox.center.position.y) == (30.0, 60.0)
    assert (first.bbox.size_x, first.bbox.size_y) == (40.0, 80.0)
    assert first.results[0].hypothesis.class_id == "b" and first.results[0].hypothesis.score == pytest.approx(
        0.9
    )
    assert first.header.frame_id == "cam" and msg.detections[1].results[0].hypothesis.class_id == "a"


def test_wrong_type_and_malformed_bytes_are_input_errors():
    with pytest.raises(InputError, match="carries sensor_msgs/msg/Imu"):
        m.check_image_type("/imu", "sensor_msgs/msg/Imu")
    raw = m.encode(m.image_to_msg(BGR, m.header(1, "c")), m.IMAGE)
    with pytest.raises(InputError, match="malformed sensor_msgs/msg/Image"):
        m.decode(raw[:40], m.IMAGE)


def test_process_image_cdr_keeps_the_input_header():
    raw = m.encode(m.image_to_msg(BGR, m.header(9_000_000_002, "optical")), m.IMAGE)
    box = Detections(np.array([[1, 1, 4, 5]], np.float32), np.array([0.5]), np.array([0]), ["x"])
    det, annotated = m.process_image_cdr(raw, m.IMAGE, lambda image: box, annotate=True)
    out, img = m.decode(det, m.DETECTIONS), m.decode(annotated, m.IMAGE)
    assert out.header.frame_id == img.header.frame_id == "optical" and out.header.stamp.nanosec == 2
    assert len(out.detections) == 1 and (img.height, img.width) == (6, 8)
    assert not np.array_equal(m.image_from_msg(img, m.IMAGE), BGR)  # the box was drawn
