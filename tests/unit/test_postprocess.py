"""The shared letterbox and NMS: geometry round-trips and suppression rules."""

import numpy as np
import pytest

from edgecompress.errors import InputError
from edgecompress.runtime.postprocess import decode_image, nms, scale_boxes
from edgecompress.runtime.preprocess import letterbox, preprocess, read_image


def test_letterbox_pads_to_square_and_maps_boxes_back():
    image = np.zeros((300, 600, 3), dtype=np.uint8)
    boxed, info = letterbox(image, 320)
    assert boxed.shape == (320, 320, 3)
    assert info.gain == pytest.approx(320 / 600)
    assert info.pad_x == 0 and info.pad_y == 80
    box_in_input = np.array([[0.0, 80.0, 320.0, 240.0]])
    assert scale_boxes(box_in_input, info) == pytest.approx(np.array([[0, 0, 600, 300]]), abs=1e-3)


def test_preprocess_is_rgb_nchw_unit_range():
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    image[..., 0] = 255  # blue in BGR
    batch, _ = preprocess([image], 32)
    assert batch.shape == (1, 3, 32, 32) and batch.dtype == np.float32
    assert batch[0, 2].max() == 1.0 and batch[0, 0].max() == 0.0


def test_nms_suppresses_overlaps_and_keeps_order():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], dtype=np.float32)
    scores = np.array([0.9, 0.8, 0.7], dtype=np.float32)
    assert nms(boxes, scores, 0.5, 300).tolist() == [0, 2]
    assert nms(boxes, scores, 0.95, 300).tolist() == [0, 1, 2]
    assert nms(boxes, scores, 0.5, 1).tolist() == [0]


def test_decode_keeps_overlapping_boxes_of_different_classes():
    raw = np.zeros((4 + 2, 3), dtype=np.float32)
    raw[:4, 0] = [50, 50, 20, 20]
    raw[:4, 1] = [51, 51, 20, 20]
    raw[4, 0], raw[5, 1] = 0.9, 0.8  # same place, different classes
    raw[:4, 2] = [10, 10, 4, 4]
    raw[4, 2] = 0.1  # under the threshold
    boxes, _scores, classes = decode_image(raw, conf=0.25, iou=0.5)
    assert classes.tolist() == [0, 1]
    assert boxes[0] == pytest.approx([40, 40, 60, 60])


def test_multi_label_emits_each_class_above_threshold():
    raw = np.zeros((4 + 2, 1), dtype=np.float32)
    raw[:4, 0] = [50, 50, 20, 20]
    raw[4:, 0] = [0.6, 0.5]
    assert len(decode_image(raw, 0.25, 0.7, multi_label=True)[1]) == 2
    assert len(decode_image(raw, 0.25, 0.7, multi_label=False)[1]) == 1


def test_unreadable_image_is_an_input_error(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(InputError, match="not a readable image"):
        read_image(bad)
    with pytest.raises(InputError, match="file not found"):
        read_image(tmp_path / "missing.jpg")
