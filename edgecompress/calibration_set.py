"""Build the INT8 calibration batch from a calibration spec, with the deploy letterbox."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgecompress.artifact import sha256_file
from edgecompress.config.calibration import CalibrationSpec
from edgecompress.data import load_split
from edgecompress.runtime.preprocess import preprocess, read_image
from edgecompress.ui import track


@dataclass
class CalibrationSet:
    """Preprocessed calibration inputs (one NCHW batch-1 array each) and the hashes of their images."""

    inputs: list[np.ndarray]
    images_sha256: list[str]


def select_images(paths: list, spec: CalibrationSpec) -> list:
    """Choose ``spec.count`` images: the first ones, or a seeded random subset in sorted order."""
    if len(paths) <= spec.count:
        return list(paths)
    if spec.selection == "first":
        return list(paths[: spec.count])
    rng = np.random.default_rng(spec.seed)
    chosen = np.sort(rng.choice(len(paths), size=spec.count, replace=False))
    return [paths[i] for i in chosen]


def build_calibration_set(data_yaml: str, spec: CalibrationSpec, imgsz: int) -> CalibrationSet:
    """Read, select and letterbox the calibration images of ``data_yaml``."""
    split = load_split(data_yaml, spec.split, require_labels=False)
    chosen = select_images(split.images, spec)
    inputs = [preprocess([read_image(p)], imgsz)[0] for p in track(chosen, "calibration images")]
    return CalibrationSet(inputs, [sha256_file(p) for p in chosen])
