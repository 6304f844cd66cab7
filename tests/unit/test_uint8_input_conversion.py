"""Float NCHW batches in [0, 1] and the uint8 NHWC images they came from."""

import numpy as np

from edgecompress.backends.openvino_input import to_uint8_nhwc
from edgecompress.runtime.preprocess import preprocess


def test_round_trip_of_letterboxed_pixels() -> None:
    pixels = np.random.default_rng(0).integers(0, 256, size=(2, 8, 6, 3), dtype=np.uint8)
    batch = (pixels.transpose(0, 3, 1, 2) / 255.0).astype(np.float32)
    back = to_uint8_nhwc(batch)
    assert back.dtype == np.uint8 and back.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(back, pixels)


def test_out_of_range_values_are_clipped() -> None:
    batch = np.array([-0.2, 0.5, 1.3], dtype=np.float32).reshape(1, 3, 1, 1)
    assert to_uint8_nhwc(batch).ravel().tolist() == [0, 128, 255]


def test_preprocess_hands_a_uint8_model_the_pixels_the_float_batch_scales() -> None:
    image = np.random.default_rng(1).integers(0, 256, size=(30, 50, 3), dtype=np.uint8)
    floats, float_info = preprocess([image], 64)
    pixels, pixel_info = preprocess([image], 64, uint8_images=True)
    assert pixels.dtype == np.uint8 and pixels.shape == (1, 64, 64, 3) and pixels.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(pixels, to_uint8_nhwc(floats))
    assert pixel_info == float_info
