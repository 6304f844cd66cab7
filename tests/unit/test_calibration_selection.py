"""Calibration image selection: stratified covers every class of a split with few images."""

from pathlib import Path

import pytest

from edgecompress.calibration_set import select_images
from edgecompress.config.calibration import CalibrationSpec
from edgecompress.data import load_split
from edgecompress.errors import InputError


def _skewed_dataset(root: Path, rare_classes: int = 9, images: int = 200) -> Path:
    """Class 0 in every image; classes 1..rare_classes each in exactly two images (label files only)."""
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    rare = {i * (images // (2 * rare_classes)): 1 + i // 2 for i in range(2 * rare_classes)}
    for i in range(images):
        (root / "images" / "train" / f"{i:04d}.jpg").write_bytes(b"")
        rows = ["0 0.5 0.5 0.1 0.1"] + ([f"{rare[i]} 0.2 0.2 0.1 0.1"] if i in rare else [])
        (root / "labels" / "train" / f"{i:04d}.txt").write_text("\n".join(rows) + "\n")
    names = [str(c) for c in range(rare_classes + 1)]
    (root / "data.yaml").write_text(f"path: {root}\ntrain: images/train\nnames: {names}\n")
    return root / "data.yaml"


def _classes(split, chosen) -> set[int]:
    return {int(c) for p in chosen for c in split.labels(p)[0]}


def _spec(selection: str, count: int, seed: int = 0) -> CalibrationSpec:
    return CalibrationSpec(name="t", split="train", count=count, selection=selection, seed=seed)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stratified_covers_all_classes_with_fewer_images_than_seeded(tmp_path, seed):
    split = load_split(_skewed_dataset(tmp_path), "train", require_labels=True)
    labels = lambda p: split.labels(p)[0]  # noqa: E731
    stratified = select_images(split.images, _spec("stratified", 10, seed), labels)
    assert len(stratified) == 10 and _classes(split, stratified) == set(range(10))
    assert stratified == sorted(stratified)  # split order kept

    # the smallest seeded pick that covers every class
    def seeded_covers(n: int) -> bool:
        return _classes(split, select_images(split.images, _spec("seeded", n, seed))) == set(range(10))

    needed = next(n for n in range(10, 201) if seeded_covers(n))
    assert needed > 10


def test_stratified_is_seeded_and_balances_counts(tmp_path):
    split = load_split(_skewed_dataset(tmp_path), "train")
    labels = lambda p: split.labels(p)[0]  # noqa: E731
    a = select_images(split.images, _spec("stratified", 30, seed=3), labels)
    assert a == select_images(split.images, _spec("stratified", 30, seed=3), labels)
    assert a != select_images(split.images, _spec("stratified", 30, seed=4), labels)
    # every rare class has two images in the split: both are taken before more class-0-only images
    rare = [p for p in split.images if len(split.labels(p)[0]) > 1]
    assert set(rare) <= set(a) and len(a) == 30


def test_stratified_fills_past_the_labelled_images_and_takes_all_when_few(tmp_path):
    split = load_split(_skewed_dataset(tmp_path, rare_classes=2, images=20), "train")
    labels = lambda p: split.labels(p)[0]  # noqa: E731
    assert select_images(split.images, _spec("stratified", 50), labels) == split.images
    assert len(select_images(split.images, _spec("stratified", 19), labels)) == 19


def test_stratified_without_labels_is_an_input_error(tmp_path):
    paths = [tmp_path / f"{i}.jpg" for i in range(5)]
    with pytest.raises(InputError, match="needs labels"):
        select_images(paths, _spec("stratified", 2), lambda p: [])
