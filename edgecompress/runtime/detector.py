"""``edgecompress.load(artifact)``: a detector on the artifact's runtime with the shared pre/postprocess."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgecompress.artifact import artifact_target, open_artifact
from edgecompress.backends import Runtime, get_backend
from edgecompress.errors import InputError
from edgecompress.runtime.postprocess import Detections, postprocess
from edgecompress.runtime.preprocess import preprocess, read_image

if TYPE_CHECKING:
    from edgecompress.runtime.policy import PolicyRuntime
    from edgecompress.runtime.smolvla import SmolVLARuntime

ImageInput = str | Path | np.ndarray


class Detector:
    """A compiled detector: ``predict`` takes a path, an image array or a list of them."""

    def __init__(
        self, runtime: Runtime, imgsz: int, names: list[str], conf: float = 0.25, iou: float = 0.7
    ) -> None:
        self.runtime = runtime
        self.imgsz = imgsz
        self.names = names
        self.conf = conf
        self.iou = iou

    def predict(
        self, source: ImageInput | list[ImageInput], conf: float | None = None, iou: float | None = None
    ) -> Detections | list[Detections]:
        """Detect objects; boxes are xyxy in original-image pixels. A list in gives a list out."""
        items = source if isinstance(source, list) else [source]
        results = []
        for item in items:
            image = read_image(item)
            batch, infos = preprocess([image], self.imgsz, self.runtime.takes_uint8_images)
            raw = self.runtime(batch)
            results += postprocess(raw, infos, self.names, conf or self.conf, iou or self.iou)
        return results if isinstance(source, list) else results[0]

    __call__ = predict


def load(
    artifact: str | Path, conf: float = 0.25, iou: float = 0.7
) -> Detector | PolicyRuntime | SmolVLARuntime:
    """Verify the artifact's hashes and load it on the runtime its ``target.yaml`` names.

    A detector artifact gives a :class:`Detector`; a policy artifact a
    :class:`~edgecompress.runtime.policy.PolicyRuntime` (``predict(image, instruction, state)``); a
    SmolVLA artifact a :class:`~edgecompress.runtime.smolvla.SmolVLARuntime`.
    """
    directory = Path(artifact)
    manifest = open_artifact(directory)
    if manifest.family == "policy":
        from edgecompress.runtime.policy import load_policy_artifact

        return load_policy_artifact(directory, manifest)
    if manifest.family == "smolvla":
        from edgecompress.runtime.smolvla import load_smolvla_artifact

        return load_smolvla_artifact(directory, manifest)
    profile = artifact_target(directory)
    if manifest.engine_pending:
        raise InputError(
            f"{directory} holds the TensorRT-ready ONNX but no engine yet",
            f"copy it to the device and run `edgecompress lower {directory} --target {profile.name}` there",
        )
    backend = get_backend(profile.backend)
    if reason := backend.available():
        raise InputError(f"artifact needs {profile.backend}: {reason}", "load it on a machine that has it")
    if manifest.built_with:
        check_engine_versions(directory, manifest.built_with, profile.name)
    runtime = backend.load(directory / manifest.model_file, profile, manifest.precision)
    return Detector(runtime, manifest.imgsz, manifest.names, conf, iou)


def check_engine_versions(directory: Path, recorded: dict[str, str], target: str) -> None:
    """Refuse an engine built with another TensorRT, CUDA, L4T or GPU than this machine has."""
    from edgecompress.backends.tensorrt_build import installed_versions, version_mismatches

    if differences := version_mismatches(recorded, installed_versions()):
        raise InputError(
            f"the engine in {directory} was built for another setup: {'; '.join(differences)}",
            f"rebuild it here with `edgecompress lower {directory} --target {target}`",
        )


def load_detector_artifact(artifact: str | Path, conf: float = 0.25, iou: float = 0.7) -> Detector:
    """:func:`load` for commands that need a detector: a policy artifact is refused with one clear line."""
    loaded = load(artifact, conf, iou)
    if not isinstance(loaded, Detector):
        raise InputError(
            f"{artifact} holds a policy, not a detector", "pass an artifact compiled from a YOLO model"
        )
    return loaded
