"""Deterministic detection dataset built from the handwritten digits bundled with scikit-learn.

Each image is a textured canvas with one to four digits, scaled and tinted, placed without
overlap. Labels are YOLO txt files (class cx cy w h, normalised). Train and val draw their digits
from disjoint halves of the scikit-learn set, so val digits were never seen in training.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import numpy as np

DIGIT_NAMES = [str(i) for i in range(10)]
DEFAULT_IMGSZ = 320
DEFAULT_SPLITS = {"train": 480, "val": 200}
_PACKAGE_DIR = Path(__file__).resolve().parent
DEMO_CHECKPOINT = _PACKAGE_DIR / "yolov8n-digits.pt"


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """Return a size×size×3 uint8 background: a colour gradient, blurred noise and random strokes."""
    import cv2

    base = rng.uniform(40, 215, size=3)
    tilt = rng.uniform(-60, 60, size=3)
    ramp = np.linspace(-0.5, 0.5, size, dtype=np.float32)
    axis = ramp[None, :] if rng.random() < 0.5 else ramp[:, None]
    img = base[None, None, :] + tilt[None, None, :] * axis[..., None]
    noise = rng.normal(0, 1, size=(size // 8, size // 8, 3)).astype(np.float32)
    noise = cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC) * rng.uniform(8, 25)
    img = np.clip(img + noise, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(2, 7))):
        p1 = tuple(int(v) for v in rng.integers(0, size, 2))
        p2 = tuple(int(v) for v in rng.integers(0, size, 2))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.line(img, p1, p2, colour, int(rng.integers(1, 4)), lineType=cv2.LINE_AA)
    return img


def _place_digits(
    rng: np.random.Generator, canvas: np.ndarray, digits: np.ndarray, labels: np.ndarray, pool: np.ndarray
) -> list[tuple[int, float, float, float, float]]:
    """Paste 1-4 digits from ``pool`` onto ``canvas`` in place; return YOLO label rows."""
    import cv2

    size = canvas.shape[0]
    boxes: list[tuple[int, int, int, int]] = []
    rows = []
    for _ in range(int(rng.integers(1, 5))):
        idx = int(rng.choice(pool))
        side = int(rng.integers(40, 112))
        for _attempt in range(20):
            x0, y0 = (int(v) for v in rng.integers(0, size - side, 2))
            if all(
                x0 >= bx1 + 4 or x0 + side + 4 <= bx0 or y0 >= by1 + 4 or y0 + side + 4 <= by0
                for bx0, by0, bx1, by1 in boxes
            ):
                break
        else:
            continue
        glyph = cv2.resize(digits[idx].astype(np.float32) / 16.0, (side, side), interpolation=cv2.INTER_CUBIC)
        alpha = np.clip(glyph, 0, 1)[..., None]
        ink = rng.uniform(0, 255, size=3)
        region = canvas[y0 : y0 + side, x0 : x0 + side].astype(np.float32)
        contrast = np.where(region.mean() > 127, 0.15, 0.85) * 255
        ink = 0.5 * ink + 0.5 * contrast
        canvas[y0 : y0 + side, x0 : x0 + side] = (region * (1 - alpha) + ink * alpha).astype(np.uint8)
        ys, xs = np.nonzero(alpha[..., 0] > 0.25)
        bx0, by0, bx1, by1 = x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1
        boxes.append((x0, y0, x0 + side, y0 + side))
        rows.append(
            (
                int(labels[idx]),
                (bx0 + bx1) / 2 / size,
                (by0 + by1) / 2 / size,
                (bx1 - bx0) / size,
                (by1 - by0) / size,
            )
        )
    return rows


def build_digits_dataset(
    root: str | Path, splits: dict[str, int] | None = None, imgsz: int = DEFAULT_IMGSZ, seed: int = 0
) -> Path:
    """Write the digits detection dataset under ``root`` and return the path of its ``data.yaml``.

    The same ``splits``, ``imgsz`` and ``seed`` always give byte-identical images and labels.
    """
    import cv2
    import yaml
    from sklearn.datasets import load_digits

    root = Path(root)
    splits = splits or DEFAULT_SPLITS
    bunch = load_digits()
    digits, labels = bunch.images, bunch.target
    half = len(digits) // 2
    pools = {"train": np.arange(half), "val": np.arange(half, len(digits))}
    for split, count in splits.items():
        rng = np.random.default_rng([seed, list(splits).index(split)])
        pool = pools.get(split, pools["val"])
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            canvas = _texture(rng, imgsz)
            rows = _place_digits(rng, canvas, digits, labels, pool)
            stem = f"{split}_{i:04d}"
            cv2.imwrite(str(root / "images" / split / f"{stem}.jpg"), canvas, [cv2.IMWRITE_JPEG_QUALITY, 92])
            text = "".join(f"{c} {x:.6f} {y:.6f} {w:.6f} {h:.6f}\n" for c, x, y, w, h in rows)
            (root / "labels" / split / f"{stem}.txt").write_text(text)
    data = {"path": str(root.resolve()), "names": dict(enumerate(DIGIT_NAMES))}
    data.update({split: f"images/{split}" for split in splits})
    data_yaml = root / "data.yaml"
    data_yaml.write_text(yaml.safe_dump(data, sort_keys=False))
    return data_yaml


def demo_data_yaml(cache_dir: str | Path | None = None) -> Path:
    """Return the demo dataset's ``data.yaml``, building it once into the edgecompress cache folder."""
    from edgecompress.offline import cache_root

    cache = Path(cache_dir) if cache_dir else cache_root()
    root = cache / f"digits-{DEFAULT_IMGSZ}-v1"
    if not (root / "data.yaml").exists():
        cache.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix="digits-partial-", dir=cache))
        build_digits_dataset(partial)
        with contextlib.suppress(OSError):  # another process may have finished first
            partial.rename(root)
        _point_yaml_at(root)
    return root / "data.yaml"


def _point_yaml_at(root: Path) -> None:
    """Point the dataset's ``data.yaml`` at its current folder (it records an absolute path)."""
    import yaml

    data_yaml = root / "data.yaml"
    data = yaml.safe_load(data_yaml.read_text())
    data["path"] = str(root.resolve())
    data_yaml.write_text(yaml.safe_dump(data, sort_keys=False))


def demo_checkpoint() -> Path:
    """Return the path of the bundled YOLOv8n trained on the digits dataset."""
    return DEMO_CHECKPOINT
