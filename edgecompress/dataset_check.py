"""Up-front checks of a detection split: every label line and every image, before any expensive work.

Ultralytics drops a bad label file or image with a warning during training and crashes on others
while scoring; a compile checks all of them first and stops at the first problem with its file and
line, so no lowering, training or measurement runs on a dataset that cannot be scored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from edgecompress.data import DetectionSplit
from edgecompress.errors import InputError

COORDINATE_TOLERANCE = 0.01  # normalised coordinates may overshoot [0, 1] by this much (rounding)
LABEL_FORMAT = "one object per line: 'class x_center y_center width height', coordinates normalised to 0-1"


def _numbers(fields: list[str], where: str) -> list[float]:
    values = []
    for field in fields:
        try:
            values.append(float(field))
        except ValueError:
            hint = f"write {LABEL_FORMAT}; the class is its id, not its name"
            raise InputError(f"{where}: '{field}' is not a number", hint) from None
    return values


def check_label_line(line: str, classes: int, where: str) -> None:
    """Raise an InputError naming ``where`` if ``line`` is not a valid YOLO box or polygon label."""
    fields = line.split()
    if len(fields) != 5 and (len(fields) < 7 or len(fields) % 2 == 0):
        raise InputError(f"{where} has {len(fields)} columns, expected 5", f"write {LABEL_FORMAT}")
    values = _numbers(fields, where)
    if not all(math.isfinite(v) for v in values):
        raise InputError(f"{where} has a non-finite value (nan or inf)", "fix or remove that line")
    cls = values[0]
    if cls != int(cls) or not 0 <= cls < classes:
        raise InputError(
            f"{where}: class id {fields[0]} is not one of 0..{classes - 1}",
            "use the ids of the data yaml's names, or add the class to names",
        )
    coords = values[1:]
    if min(coords) < -COORDINATE_TOLERANCE or max(coords) > 1 + COORDINATE_TOLERANCE:
        raise InputError(
            f"{where}: coordinates outside [0, 1]",
            "divide x and width by the image width, y and height by its height",
        )


def check_label_file(path: Path, classes: int) -> None:
    """Check every line of one label file (blank lines are allowed)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"label file {path} cannot be read ({type(exc).__name__})"
        raise InputError(problem, "rewrite it as UTF-8 text") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            check_label_line(line, classes, f"{path}:{number}")


def check_image(path: Path) -> None:
    """Raise an InputError if ``path`` is missing or not a decodable image (header and structure)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.verify()
    except FileNotFoundError:
        raise InputError(f"image {path} does not exist", "fix the split's path or file list") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(
            f"image {path} is corrupt or not an image ({type(exc).__name__})", "replace or remove it"
        ) from None


def label_files(images: Iterable[Path]) -> list[Path]:
    """The label file Ultralytics pairs with each image (``images/`` → ``labels/``, ``.txt``)."""
    from ultralytics.data.utils import img2label_paths

    return [Path(p) for p in img2label_paths([str(i) for i in images])]


def check_split(split: DetectionSplit, labels: bool = True) -> None:
    """Check every image of ``split`` and, with ``labels``, every line of its label files."""
    for image in split.images:
        check_image(Path(image))
    if labels:
        for label in label_files(split.images):
            if label.exists():
                check_label_file(label, len(split.names))
