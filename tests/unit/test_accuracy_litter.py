"""Scoring a runtime leaves no folder behind (Ultralytics' validator would make runs/detect/train*)."""

import numpy as np

from edgecompress.backends.base import Runtime
from edgecompress.data import load_split
from edgecompress.measure.accuracy import evaluate


class _NoBoxes(Runtime):
    name = "none"

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return np.zeros((batch.shape[0], 4 + 10, 2100), dtype=np.float32)

    @property
    def version(self) -> str:
        return "0"


def test_evaluate_creates_no_run_folders(tiny_digits, tmp_path, monkeypatch):
    import ultralytics.engine.validator as validator

    def no_run_folder(*args, **kwargs):
        raise AssertionError("the validator was left to make its own runs/detect/train* folder")

    monkeypatch.setattr(validator, "get_save_dir", no_run_folder)
    monkeypatch.chdir(tmp_path)
    accuracy = evaluate(_NoBoxes(), load_split(tiny_digits, "val"), 320)
    assert accuracy.images == 16 and accuracy.map50 == 0.0
    assert list(tmp_path.iterdir()) == []
