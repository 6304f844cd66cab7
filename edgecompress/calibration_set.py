"""Build the INT8 calibration batch from a calibration spec, with the deploy letterbox; cache it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgecompress.artifact import sha256_file
from edgecompress.config.calibration import CalibrationSpec
from edgecompress.data import load_split
from edgecompress.errors import InputError
from edgecompress.runtime.preprocess import preprocess, read_image
from edgecompress.ui import track

CACHE_FORMAT = 1


@dataclass
class CalibrationSet:
    """Preprocessed calibration inputs (one NCHW batch-1 array each) and the hashes of their images."""

    inputs: list[np.ndarray]
    images_sha256: list[str]
    images: list[str] = field(default_factory=list)
    spec: CalibrationSpec | None = None
    imgsz: int | None = None

    def save(self, path: str | Path) -> Path:
        """Write the set to ``path`` (``.npz``) atomically: inputs, image paths, hashes, spec and imgsz."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.partial-{os.getpid()}")
        meta = {
            "format": CACHE_FORMAT,
            "imgsz": self.imgsz,
            "spec": self.spec.model_dump() if self.spec else None,
        }
        inputs = np.concatenate(self.inputs, axis=0)
        as_bytes = np.rint(inputs * 255.0).clip(0, 255).astype(np.uint8)
        if np.array_equal(as_bytes.astype(np.float32) / 255.0, inputs):
            inputs = as_bytes  # the letterboxed pixels: 4x smaller, and exactly the same tensors on load
        try:
            with partial.open("wb") as handle:
                np.savez(
                    handle,
                    inputs=inputs,
                    images=np.asarray(self.images, dtype=np.str_),
                    images_sha256=np.asarray(self.images_sha256, dtype=np.str_),
                    meta=np.asarray(json.dumps(meta)),
                )
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return path

    @classmethod
    def load(cls, path: str | Path) -> CalibrationSet:
        """Read a set written by :meth:`save`; a missing or foreign file is an InputError."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"calibration cache not found: {path}", "write it with `edgecompress calibrate`")
        try:
            with np.load(path, allow_pickle=False) as data:
                inputs, meta = data["inputs"], json.loads(str(data["meta"]))
                if inputs.dtype == np.uint8:
                    inputs = inputs.astype(np.float32) / 255.0  # as preprocess() scales
                images, hashes = [str(x) for x in data["images"]], [str(x) for x in data["images_sha256"]]
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(
                f"{path} is not an edgecompress calibration cache", "write it with `edgecompress calibrate`"
            ) from exc
        spec = CalibrationSpec.model_validate(meta["spec"]) if meta.get("spec") else None
        return cls([np.ascontiguousarray(x[None]) for x in inputs], hashes, images, spec, meta.get("imgsz"))


def _stratified(count: int, classes: Sequence[Sequence[int]], rng: np.random.Generator) -> list[int]:
    """Indices of ``count`` images covering every class as evenly as possible.

    Repeatedly takes the class picked least so far (ties: the lowest id) and the next image, in a
    seeded shuffled order, that contains it; once no unused image holds any class, the rest is filled
    in the shuffled order (e.g. background images).
    """
    order = rng.permutation(len(classes))
    queues: dict[int, list[int]] = {}
    for i in order[::-1]:  # reversed, so that pop() yields the shuffled order
        for c in set(classes[i]):
            queues.setdefault(int(c), []).append(int(i))
    covered = dict.fromkeys(queues, 0)
    used: set[int] = set()
    while len(used) < count and covered:
        wanted = min(covered, key=lambda c: (covered[c], c))
        queue = queues[wanted]
        while queue and queue[-1] in used:
            queue.pop()
        if not queue:
            del covered[wanted]
            continue
        pick = queue.pop()
        used.add(pick)
        for c in set(classes[pick]):
            if c in covered:
                covered[c] += 1
    rest = [int(i) for i in order if int(i) not in used]
    return sorted(used | set(rest[: count - len(used)]))


def select_images(
    paths: list, spec: CalibrationSpec, classes_of: Callable[[Path], Sequence[int]] | None = None
) -> list:
    """Choose ``spec.count`` images: the first ones, a seeded random subset, or a class-stratified one.

    ``classes_of`` (the class ids in an image) is needed for ``stratified``. Picks keep the split's order.
    """
    if len(paths) <= spec.count:
        return list(paths)
    if spec.selection == "first":
        return list(paths[: spec.count])
    rng = np.random.default_rng(spec.seed)
    if spec.selection == "stratified":
        if classes_of is None:
            raise ValueError("stratified selection needs the class ids of each image (classes_of)")
        classes = [[int(c) for c in classes_of(Path(p))] for p in paths]
        if not any(classes):
            raise InputError(
                "stratified calibration needs labels, and the split has none",
                "use selection: seeded, or add YOLO txt labels beside the images",
            )
        return [paths[i] for i in _stratified(spec.count, classes, rng)]
    chosen = np.sort(rng.choice(len(paths), size=spec.count, replace=False))
    return [paths[i] for i in chosen]


def build_calibration_set(data_yaml: str | Path, spec: CalibrationSpec, imgsz: int) -> CalibrationSet:
    """Read, select and letterbox the calibration images of ``data_yaml``."""
    split = load_split(data_yaml, spec.split, require_labels=False)
    chosen = select_images(split.images, spec, lambda p: split.labels(p)[0])
    inputs = [preprocess([read_image(p)], imgsz)[0] for p in track(chosen, "calibration images")]
    return CalibrationSet(inputs, [sha256_file(p) for p in chosen], [str(p) for p in chosen], spec, imgsz)
