"""Detection datasets described by an Ultralytics ``data.yaml``: image lists, labels and class names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from edgecompress.errors import InputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


@dataclass
class DetectionSplit:
    """One split of a detection dataset: images, their label files and the class names."""

    data_yaml: Path
    split: str
    images: list[Path]
    names: list[str]

    def labels(self, image: Path) -> tuple[np.ndarray, np.ndarray]:
        """Ground truth of ``image``: class ids (M,) and normalised xywh boxes (M, 4)."""
        from ultralytics.data.utils import img2label_paths

        label_file = Path(img2label_paths([str(image)])[0])
        if not label_file.exists():
            return np.zeros(0, dtype=np.int64), np.zeros((0, 4), dtype=np.float32)
        rows = [r.split() for r in label_file.read_text().splitlines() if r.strip()]
        array = np.asarray([_box_row(r) for r in rows], dtype=np.float32).reshape(-1, 5)
        return array[:, 0].astype(np.int64), array[:, 1:5]


def _box_row(fields: list[str]) -> list[float]:
    """``class x y w h`` of one label line; a polygon line (``class x1 y1 x2 y2 ...``) becomes its box."""
    values = [float(f) for f in fields]
    if len(values) == 5:
        return values
    xs, ys = values[1::2], values[2::2]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    return [values[0], (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0]


def _class_names(names: object, data_yaml: Path) -> list[str]:
    """``names`` as a list: Ultralytics accepts a list or an ``{id: name}`` mapping with ids 0..n-1."""
    hint = "write names as a list ['a', 'b'] or a mapping {0: a, 1: b}"
    if isinstance(names, dict) and names and all(isinstance(k, int) for k in names):
        if sorted(names) != list(range(len(names))):
            raise InputError(f"{data_yaml}: the class ids of 'names' are not 0..{len(names) - 1}", hint)
        names = [names[k] for k in sorted(names)]
    if not isinstance(names, list) or not names or not all(isinstance(n, (str, int, float)) for n in names):
        raise InputError(f"{data_yaml}: 'names' is not a non-empty list of class names", hint)
    return [str(n) for n in names]


def _resolve_root(data_yaml: Path, data: dict) -> Path:
    root = Path(data.get("path") or data_yaml.parent)
    return root if root.is_absolute() else (data_yaml.parent / root).resolve()


def _list_images(root: Path, entry: str | list[str]) -> list[Path]:
    images: list[Path] = []
    for item in [entry] if isinstance(entry, str) else entry:
        path = Path(item) if Path(item).is_absolute() else root / item
        if path.is_dir():
            images += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file() and path.suffix == ".txt":
            lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
            images += [Path(x) if Path(x).is_absolute() else (path.parent / x).resolve() for x in lines]
        else:
            raise InputError(f"dataset folder {path} does not exist", "fix the split's path in the data yaml")
    return images


def load_split(data_yaml: str | Path, split: str = "val", require_labels: bool = True) -> DetectionSplit:
    """Read ``split`` of an Ultralytics detection ``data.yaml``; relative paths resolve next to the yaml."""
    from ultralytics.data.utils import img2label_paths

    data_yaml = Path(data_yaml)
    if not data_yaml.is_file():
        raise InputError(f"data yaml not found: {data_yaml}", "pass --data path/to/data.yaml")
    try:
        data = yaml.safe_load(data_yaml.read_text())
    except yaml.YAMLError as exc:
        raise InputError(f"{data_yaml} is not valid YAML", "fix its syntax") from exc
    if not isinstance(data, dict) or "names" not in data:
        raise InputError(f"{data_yaml} has no 'names'", "list the class names as in an Ultralytics data yaml")
    names = _class_names(data["names"], data_yaml)
    if split not in data:
        raise InputError(f"{data_yaml} has no '{split}' split", f"add '{split}: images/{split}' to the yaml")
    entry = data[split]
    if not (isinstance(entry, str) and entry) and not (
        isinstance(entry, list) and entry and all(isinstance(e, str) and e for e in entry)
    ):
        raise InputError(
            f"{data_yaml}: '{split}' must be a folder, a .txt file list or a list of them",
            f"write '{split}: images/{split}'",
        )
    if data.get("path") is not None and not isinstance(data["path"], str):
        raise InputError(
            f"{data_yaml}: 'path' must be a folder path", "write 'path: /path/to/dataset' or omit it"
        )
    images = _list_images(_resolve_root(data_yaml, data), entry)
    if not images:
        raise InputError(f"the {split} split of {data_yaml} has no images", "check the split's folder")
    if require_labels and not any(Path(p).exists() for p in img2label_paths([str(i) for i in images])):
        raise InputError(
            f"the {split} split of {data_yaml} has no label files",
            "put YOLO txt labels in the labels/ folder beside images/",
        )
    return DetectionSplit(data_yaml, split, images, names)
