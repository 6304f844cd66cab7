"""Recipes: the stages to run, how to lower and how to measure; validated before any work starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from edgecompress.config.loading import parse_yaml_model, resolve_yaml, validation_summary
from edgecompress.config.target import Precision, StrictModel
from edgecompress.errors import InputError


class AccuracyGuardSettings(StrictModel):
    """Accuracy-controlled INT8 (OpenVINO): layers go back to float until mAP50-95 drops at most ``max_drop``.

    ``max_drop`` None turns the guard off (plain post-training quantization).
    """

    max_drop: float | None = Field(None, ge=0, le=1, description="largest absolute mAP50-95 drop vs FP32")
    split: Literal["val", "train"] = Field("val", description="the labelled split the guard validates on")
    images: int | None = Field(None, ge=1, description="seeded subset of that split; None: all of it")
    max_reverted: int | None = Field(None, ge=1, description="most groups of layers reverted to float")
    seed: int = 0


class LowerSettings(StrictModel):
    """Lowering options; ``precision`` None means the target's default."""

    precision: Precision | None = None
    calibration: str = "default"
    simplify: bool = True
    opset: int | None = Field(None, ge=11)
    nms_free: bool = Field(
        False,
        description="lower the model's one-to-one head (YOLO26, YOLOv10: Ultralytics' `nms=False`): the "
        "graph outputs its top max_det boxes and needs no NMS; default is Ultralytics' default, the "
        "one-to-many head with NMS after the model",
    )
    accuracy_guard: AccuracyGuardSettings = AccuracyGuardSettings()
    bias_correction: Literal["auto", "fast", "full"] = Field(
        "auto",
        description="OpenVINO INT8: NNCF's fast or full bias correction; auto quantizes both and keeps "
        "the one with the higher mAP50-95 on seeded labelled train images (full where the train split "
        "has no labels, and under the accuracy guard)",
    )
    bias_correction_images: int = Field(
        300, ge=1, description="auto: how many train images (seed 1) score the two quantizations"
    )
    denoising_loop: Literal["graph", "python"] = Field(
        "graph",
        description="SmolVLA policies: graph lowers a whole action chunk as one graph (the prefix and every "
        "denoising step unrolled, one runtime call per chunk); python lowers the prefix and one denoising "
        "step as separate graphs and runs the Euler loop in Python (one call per graph)",
    )
    input_format: Literal["auto", "float_nchw", "uint8_nhwc"] = Field(
        "auto",
        description="the lowered detector's input: uint8_nhwc, the letterboxed uint8 image as a camera gives "
        "it, with the scaling and layout change in the graph (OpenVINO targets; the same outputs, less work "
        "per call), or float_nchw, float32 NCHW in [0, 1] as Ultralytics exports it; auto is uint8_nhwc "
        "where OpenVINO lowers on this machine and float_nchw elsewhere",
    )


class MeasureSettings(StrictModel):
    """Measurement options; ``imgsz`` None means the model's training image size."""

    imgsz: int | None = Field(None, ge=32)
    accuracy: bool = True
    baseline: bool = True
    conf: float = Field(0.001, ge=0, le=1)
    iou: float = Field(0.7, gt=0, le=1)
    single_cls: bool = Field(False, description="score all classes as class 0, as Ultralytics' val")
    frames: int | None = Field(None, ge=1, description="policies: held-out frames scored (seeded); None: all")


class Recipe(StrictModel):
    """A compile recipe: ``stages`` (passes in order), ``lower`` and ``measure``."""

    name: str
    description: str = ""
    stages: list[dict[str, Any]] = Field(default_factory=list)
    lower: LowerSettings = LowerSettings()
    measure: MeasureSettings = MeasureSettings()

    @field_validator("stages")
    @classmethod
    def _stages_are_known_passes(cls, stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from edgecompress.passes import PASSES

        for index, stage in enumerate(stages):
            name = stage.get("pass")
            if name not in PASSES:
                known = ", ".join(sorted(PASSES)) or "none are registered yet"
                raise ValueError(f"stages.{index}.pass: unknown pass {name!r}; known passes: {known}")
            try:
                PASSES[name].Config.model_validate({k: v for k, v in stage.items() if k != "pass"})
            except ValidationError as exc:
                raise ValueError(f"stages.{index}.{validation_summary(exc)}") from None
        return stages


def check_family(recipe: Recipe, family: str) -> None:
    """Refuse a recipe with a pass that does not apply to ``family`` (``yolo`` or ``policy``)."""
    from edgecompress.passes import PASSES

    for index, stage in enumerate(recipe.stages):
        cls = PASSES[stage["pass"]]
        if family not in cls.families:
            raise InputError(
                f"recipe {recipe.name}: stage {index} ({cls.name}) does not apply to {family} models",
                f"use a recipe made for {family} models (`edgecompress recipes`)",
            )


def load_recipe(name_or_path: str | Path) -> Recipe:
    """Load a built-in recipe by name or a user's YAML by path."""
    return parse_yaml_model(resolve_yaml(name_or_path, "recipes"), Recipe, "recipe")


def apply_overrides(recipe: Recipe, overrides: list[str]) -> Recipe:
    """Apply ``--set a.b.0.c=value`` overrides (values parsed as YAML) and re-validate."""
    data = recipe.model_dump()
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise InputError(f"--set {item!r} has no '='", "write --set lower.precision=fp16")
        node: Any = data
        parts = key.split(".")
        try:
            for part in parts[:-1]:
                node = node[int(part)] if isinstance(node, list) else node[part]
            last = int(parts[-1]) if isinstance(node, list) else parts[-1]
            node[last] = yaml.safe_load(raw)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise InputError(f"--set {key}: no such recipe key", "check the recipe's keys") from exc
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise InputError(
            f"--set made the recipe invalid: {validation_summary(exc)}", "fix the value"
        ) from exc
