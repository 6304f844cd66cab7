"""Up-front dataset checks: every bad label line and image is named by file and line, before any work."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgecompress.data import DetectionSplit, _box_row
from edgecompress.dataset_check import check_image, check_label_file, check_label_line, check_split
from edgecompress.errors import InputError

CLASSES = 3


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("99 0.5 0.5 0.1 0.1", "class id 99 is not one of 0..2"),
        ("-1 0.5 0.5 0.1 0.1", "class id -1"),
        ("1.5 0.5 0.5 0.1 0.1", "class id 1.5"),
        ("0 nan 0.5 0.1 0.1", "non-finite"),
        ("0 0.5 inf 0.1 0.1", "non-finite"),
        ("0 -0.2 0.5 0.1 0.1", "outside [0, 1]"),
        ("0 0.5 0.5 1.5 0.1", "outside [0, 1]"),
        ("0 320 240 20 20", "outside [0, 1]"),
        ("0 0.5 0.5", "3 columns, expected 5"),
        ("0 0.5 0.5 0.1", "4 columns"),
        ("0 0.1 0.1 0.2 0.2 0.3", "6 columns"),
        ("dog 0.5 0.5 0.1 0.1", "'dog' is not a number"),
        ("0 0.5 0.5 0.1 0.1x", "'0.1x' is not a number"),
    ],
)
def test_a_bad_label_line_is_named_with_its_file_and_line(tmp_path, line, message):
    label = tmp_path / "img.txt"
    label.write_text(f"1 0.5 0.5 0.2 0.2\n\n{line}\n")
    with pytest.raises(InputError) as caught:
        check_label_file(label, CLASSES)
    assert f"{label}:3" in str(caught.value) and message in str(caught.value)


@pytest.mark.parametrize(
    "line",
    [
        "0 0.5 0.5 0.1 0.1",
        "2 1.0 1.0 0.0 0.0",
        "1 1.004 0.5 0.1 0.1",  # rounding overshoot within the tolerance
        "0 0.1 0.1 0.4 0.1 0.4 0.5 0.1 0.5",  # a polygon (segment) label
        "  1   0.5   0.5   0.2   0.2  ",
    ],
)
def test_valid_lines_pass(line):
    check_label_line(line, CLASSES, "x.txt:1")


def _split(tmp_path: Path, label_text: str, image_bytes: bytes | None = None) -> DetectionSplit:
    from PIL import Image

    images, labels = tmp_path / "images", tmp_path / "labels"
    images.mkdir()
    labels.mkdir()
    image = images / "a.jpg"
    if image_bytes is None:
        Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(image)
    else:
        image.write_bytes(image_bytes)
    (labels / "a.txt").write_text(label_text)
    return DetectionSplit(tmp_path / "data.yaml", "val", [image], ["a", "b", "c"])


def test_polygon_labels_are_scored_as_their_boxes(tmp_path):
    split = _split(tmp_path, "2 0.1 0.2 0.5 0.2 0.5 0.6 0.1 0.6\n")
    check_split(split)
    classes, boxes = split.labels(split.images[0])
    assert classes.tolist() == [2]
    np.testing.assert_allclose(boxes[0], [0.3, 0.4, 0.4, 0.4], atol=1e-6)


def test_a_corrupt_image_is_named(tmp_path):
    split = _split(tmp_path, "0 0.5 0.5 0.1 0.1\n", image_bytes=b"\xff\xd8\xff\xe0 not really a jpeg" * 10)
    with pytest.raises(InputError, match=r"image .*a\.jpg is corrupt"):
        check_split(split)


def test_a_missing_image_is_named(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        check_image(tmp_path / "gone.jpg")


def test_labels_are_not_read_when_only_images_are_needed(tmp_path):
    check_split(_split(tmp_path, "99 0.5 0.5 0.1 0.1\n"), labels=False)


_fields = st.one_of(
    st.integers(-3, 5).map(str),
    st.floats(allow_nan=True, allow_infinity=True, width=32).map(repr),
    st.sampled_from(["", "dog", "1e400", "0.5", "0x10", "--1"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_fields, min_size=0, max_size=9).map(" ".join), max_size=6))
def test_any_label_text_is_accepted_and_readable_or_refused_with_an_input_error(tmp_path_factory, lines):
    """Fuzzed label files: either an InputError, or the scorer reads them into valid boxes."""
    folder = tmp_path_factory.mktemp("fuzz")
    label = folder / "img.txt"
    label.write_text("\n".join(lines))
    try:
        check_label_file(label, CLASSES)
    except InputError:
        return
    rows = [_box_row(line.split()) for line in lines if line.strip()]
    for cls, *box in rows:
        assert 0 <= cls < CLASSES and all(np.isfinite(box))


_yaml_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=8), st.sampled_from(["images", "."])
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["path", "train", "val", "names", "nc", "test"]), _yaml_values, max_size=5
    )
)
def test_any_data_yaml_loads_or_is_refused_with_an_input_error(tmp_path_factory, data):
    """Fuzzed data yamls (keys of the right names, values of any shape) never crash the loader."""
    import yaml

    from edgecompress.data import load_split

    folder = tmp_path_factory.mktemp("yaml")
    (folder / "images").mkdir()
    path = folder / "data.yaml"
    path.write_text(yaml.safe_dump(data))
    try:
        split = load_split(path, "val", require_labels=False)
    except InputError:
        return
    assert split.images and isinstance(split.names, list)
