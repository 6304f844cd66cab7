"""Ultralytics YOLO detectors: offline loading, checks, ONNX export, complexity and scoring."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgecompress.errors import InputError
from edgecompress.models.base import ModelAdapter
from edgecompress.offline import enforce_offline


@dataclass
class YoloAdapter(ModelAdapter):
    """A loaded Ultralytics detection checkpoint (YOLOv8, YOLO11, YOLO12, YOLO26, YOLOv10)."""

    family = "yolo"
    task = "detect"

    checkpoint: Path
    yolo: Any  # ultralytics.YOLO

    @classmethod
    def load(cls, path: str | Path) -> YoloAdapter:
        """Load an Ultralytics detection checkpoint offline (:func:`load_detector`)."""
        return load_detector(path)

    @property
    def input_size(self) -> int:
        """The image size the checkpoint was trained at."""
        return self.train_imgsz

    def editable(self) -> Any:
        """The ``DetectionModel`` the passes transform."""
        return self.torch_model

    @property
    def names(self) -> list[str]:
        """Class names in id order."""
        names = self.yolo.names
        return [names[k] for k in sorted(names)] if isinstance(names, dict) else list(names)

    @property
    def train_imgsz(self) -> int:
        """Image size the checkpoint was trained at (640 when unknown)."""
        args = getattr(self.yolo.model, "args", {}) or {}
        imgsz = args.get("imgsz", 640) if isinstance(args, dict) else 640
        return int(imgsz if isinstance(imgsz, int) else max(imgsz))

    @property
    def stride(self) -> int:
        """The largest stride of the network: input sizes must be multiples of it."""
        stride = getattr(self.torch_model, "stride", None)
        return int(stride.max()) if stride is not None and len(stride) else 32

    @property
    def torch_model(self) -> Any:
        """The underlying ``DetectionModel``."""
        return self.yolo.model

    def complexity(self, imgsz: int) -> tuple[int, float]:
        """Parameter count and GFLOPs at ``imgsz``×``imgsz`` (Ultralytics' own counters)."""
        from ultralytics.utils.torch_utils import get_flops, get_num_params

        return int(get_num_params(self.torch_model)), float(get_flops(self.torch_model, imgsz))

    @property
    def has_one_to_one_head(self) -> bool:
        """Whether the head has an NMS-free one-to-one branch (YOLO26, YOLOv10)."""
        return getattr(self.torch_model.model[-1], "one2one_cv2", None) is not None

    def export_onnx(
        self,
        work_dir: Path,
        imgsz: int,
        simplify: bool = True,
        opset: int | None = None,
        nms_free: bool = False,
    ) -> Path:
        """Export a static batch-1 ONNX with Ultralytics' exporter (onnxslim-simplified) into ``work_dir``.

        ``nms_free`` exports the one-to-one head (output (1, max_det, 6): x1, y1, x2, y2, score,
        class); otherwise the one-to-many head's (1, 4 + nc, anchors), as Ultralytics does by default.
        The head's DFL is exported as a softmax-weighted sum (:mod:`edgecompress.models.yolo_dfl`):
        the same outputs, fewer ops on the CPU.
        """
        from ultralytics import YOLO

        from edgecompress.models.yolo_dfl import use_expectation_dfl

        work_dir.mkdir(parents=True, exist_ok=True)
        copy = work_dir / "model.pt"
        shutil.copyfile(self.checkpoint, copy)
        yolo = YOLO(str(copy))
        use_expectation_dfl(yolo.model)
        exported = yolo.export(
            format="onnx",
            imgsz=imgsz,
            batch=1,
            dynamic=False,
            simplify=simplify,
            opset=opset,
            device="cpu",
            nms=False if nms_free else None,
        )
        return Path(exported)

    def with_model(self, model: Any, path: Path) -> YoloAdapter:
        """Save ``model`` as an Ultralytics checkpoint at ``path`` (this one's metadata) and reload it."""
        from ultralytics import YOLO

        wrapper = YOLO(str(self.checkpoint))
        wrapper.model = model
        path.parent.mkdir(parents=True, exist_ok=True)
        wrapper.save(str(path))
        return load_detector(path)

    def torch_runtime(self, threads: int | None = None, nms_free: bool = False) -> Any:
        """An eager PyTorch runtime of a fused copy of this model (its one-to-one head if ``nms_free``)."""
        import copy

        from edgecompress.backends.torch_eager import TorchRuntime

        model = copy.deepcopy(self.torch_model).float()
        if nms_free:
            model.end2end = True  # before fuse(), which drops the head branch not selected
        model = model.fuse().eval()
        return TorchRuntime(model, threads)


def load_failure(exc: BaseException, limit: int = 120) -> str:
    """The root cause of a failed checkpoint load on one line: innermost exception, first sentence.

    Ultralytics wraps torch's error in its own message (with an emoji and the file name again); the
    innermost exception is the one that says what is wrong with the file.
    """
    root = exc
    while (root.__cause__ or root.__context__) is not None:
        root = root.__cause__ or root.__context__  # type: ignore[assignment]
    lines = str(root).strip().splitlines()
    text = (lines[0] if lines else "").split(". ")[0]  # the first sentence
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + " …"
    text = text.replace("(", "").replace(")", "")
    return f"{type(root).__name__}: {text}" if text else type(root).__name__


def check_runnable(yolo: Any, path: Path) -> None:
    """One tiny forward pass: a module pickled by another Ultralytics version fails here, in a second.

    (A YOLOv12 checkpoint saved by an older Ultralytics loads under 8.4, then fails in predict, export
    and every compile step with ``'AAttn' object has no attribute 'qkv'``.)
    """
    import re

    import torch
    import ultralytics

    model = yolo.model
    if next(model.parameters()).dtype != torch.float32:  # Ultralytics loads checkpoints as float32
        return
    stride = int(model.stride.max()) if getattr(model, "stride", None) is not None else 32
    example = torch.zeros(1, 3, 2 * stride, 2 * stride)
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(example)
    except (AttributeError, TypeError, RuntimeError, KeyError) as exc:
        named = re.search(r"'(\w+)' object", str(exc))
        module = f"its {named.group(1)} module" if named else "a module"
        version = ultralytics.__version__
        cause = str(exc).splitlines()[0][:100].replace("(", "").replace(")", "")
        raise InputError(
            f"{path}: {module} does not run under Ultralytics {version}, it was saved by another "
            f"version: {type(exc).__name__}: {cause}",
            "load and re-save it with the Ultralytics it was trained with, or retrain it under this one",
        ) from exc
    finally:
        model.train(was_training)


def load_detector(path: str | Path) -> YoloAdapter:
    """Load an Ultralytics detection checkpoint offline, with one clear error for each bad input."""
    enforce_offline()
    path = Path(path)
    if not path.exists():
        raise InputError(f"checkpoint not found: {path}", "check the path to your .pt file")
    if path.suffix != ".pt":
        raise InputError(f"{path} is not a .pt checkpoint", "pass an Ultralytics YOLO .pt file")
    from ultralytics import YOLO

    try:
        yolo = YOLO(str(path))
    except Exception as exc:  # torch/pickle raise many types for a damaged file
        raise InputError(
            f"cannot load checkpoint {path}: {load_failure(exc)}",
            "the file is corrupt or not an Ultralytics checkpoint; re-save it with model.save()",
        ) from exc
    if yolo.task != "detect":
        raise InputError(
            f"{path} is a '{yolo.task}' model, not a detector", "pass a YOLO detection checkpoint"
        )
    check_runnable(yolo, path)
    family = type(yolo.model).__name__
    if family != "DetectionModel":
        raise InputError(
            f"{path} is an Ultralytics {family}; edgecompress compiles YOLO DetectionModels",
            "pass a YOLOv8, YOLO11, YOLO12 or YOLO26 detection checkpoint",
        )
    return YoloAdapter(path, yolo)
