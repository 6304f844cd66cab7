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


def test_an_nms_free_output_is_filtered_by_score_not_suppressed():
    """(B, max_det, 6) rows of an end-to-end head: overlapping boxes both stay, best first."""
    from edgecompress.runtime.postprocess import is_end_to_end, postprocess
    from edgecompress.runtime.preprocess import LetterboxInfo

    rows = np.zeros((1, 300, 6), dtype=np.float32)
    rows[0, 0] = [10, 10, 50, 50, 0.6, 2]
    rows[0, 1] = [12, 12, 50, 50, 0.9, 2]  # overlaps the first: NMS would drop one of them
    rows[0, 2] = [0, 0, 5, 5, 0.1, 1]  # below conf
    names = [str(i) for i in range(3)]
    assert is_end_to_end(rows, len(names)) and not is_end_to_end(np.zeros((1, 7, 2100)), len(names))
    info = LetterboxInfo(gain=0.5, pad_x=0.0, pad_y=0.0, original_shape=(640, 640))
    det = postprocess(rows, [info], names, conf=0.25)[0]
    assert det.scores.tolist() == pytest.approx([0.9, 0.6])
    assert det.class_ids.tolist() == [2, 2]
    assert det.boxes[0].tolist() == pytest.approx([24, 24, 100, 100])


def test_two_classes_raw_output_is_not_taken_for_nms_free():
    """nc = 2 gives (B, 6, anchors): the second axis is 4 + nc, so it is decoded and NMS-ed."""
    from edgecompress.runtime.postprocess import is_end_to_end

    assert not is_end_to_end(np.zeros((1, 6, 2100)), 2)
    assert is_end_to_end(np.zeros((1, 300, 6)), 2)
