"""The one preprocessing every backend shares: read, letterbox, normalise."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgecompress.errors import InputError

PAD_VALUE = 114


@dataclass(frozen=True)
class LetterboxInfo:
    """How an original image maps into the network input: ``input = original * gain + (pad_x, pad_y)``."""

    gain: float
    pad_x: float
    pad_y: float
    original_shape: tuple[int, int]


def read_image(source: str | Path | np.ndarray) -> np.ndarray:
    """Return a BGR uint8 HxWx3 image from a path or an array (grey and BGRA arrays are converted)."""
    import cv2

    if isinstance(source, np.ndarray):
        image = source
    else:
        path = Path(source)
        loaded = cv2.imread(str(path)) if path.is_file() else None
        if loaded is None:
            reason = "file not found" if not path.exists() else "not a readable image"
            raise InputError(
                f"cannot read image {path}: {reason}", "pass a JPEG/PNG path or a HxWx3 uint8 array"
            )
        image = np.asarray(loaded)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise InputError(f"image has shape {image.shape}", "pass a HxWx3 BGR uint8 array")
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return image


def letterbox(image: np.ndarray, imgsz: int) -> tuple[np.ndarray, LetterboxInfo]:
    """Resize keeping aspect ratio and pad to ``imgsz``×``imgsz`` (centred, grey 114), as Ultralytics does."""
    import cv2

    height, width = image.shape[:2]
    gain = min(imgsz / height, imgsz / width)
    new_w, new_h = round(width * gain), round(height * gain)
    pad_x, pad_y = (imgsz - new_w) / 2, (imgsz - new_h) / 2
    if (new_w, new_h) != (width, height):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = round(pad_y - 0.1), round(pad_y + 0.1)
    left, right = round(pad_x - 0.1), round(pad_x + 0.1)
    padded = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    return padded, LetterboxInfo(gain, left, top, (height, width))


def to_input_tensor(images: list[np.ndarray]) -> np.ndarray:
    """Stack letterboxed BGR images into an NCHW float32 RGB batch scaled to [0, 1]."""
    batch = np.stack(images)[..., ::-1].transpose(0, 3, 1, 2)
    return np.ascontiguousarray(batch, dtype=np.float32) / 255.0


def to_image_batch(images: list[np.ndarray]) -> np.ndarray:
    """Stack letterboxed BGR images into a uint8 NHWC RGB batch: what :func:`to_input_tensor` scales."""
    return np.ascontiguousarray(np.stack(images)[..., ::-1])


def preprocess(
    images: list[np.ndarray], imgsz: int, uint8_images: bool = False
) -> tuple[np.ndarray, list[LetterboxInfo]]:
    """Letterbox a list of BGR images into one network input batch: float NCHW in [0, 1], or with
    ``uint8_images`` the uint8 NHWC pixels (for a model lowered to take them)."""
    boxed = [letterbox(image, imgsz) for image in images]
    stack = to_image_batch if uint8_images else to_input_tensor
    return stack([b[0] for b in boxed]), [b[1] for b in boxed]
