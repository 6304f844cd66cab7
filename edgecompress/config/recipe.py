"""Recipes: the stages to run, how to lower and how to measure; validated before any work starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from edgecompress.config.loading import parse_yaml_model, resolve_yaml
from edgecompress.config.target import Precision, StrictModel


class LowerSettings(StrictModel):
    """Lowering options; ``precision`` None means the target's default."""

    precision: Precision | None = None
    calibration: str = "default"
    simplify: bool = True
    opset: int | None = Field(None, ge=11)


class MeasureSettings(StrictModel):
    """Measurement options; ``imgsz`` None means the model's training image size."""

    imgsz: int | None = Field(None, ge=32)
    accuracy: bool = True
    baseline: bool = True
    conf: float = Field(0.001, ge=0, le=1)
    iou: float = Field(0.7, gt=0, le=1)
    single_cls: bool = Field(False, description="score all classes as class 0, as Ultralytics' val")


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
                raise ValueError(f"stage {index}: unknown pass {name!r} (known passes: {known})")
            PASSES[name].Config.model_validate({k: v for k, v in stage.items() if k != "pass"})
        return stages


def load_recipe(name_or_path: str | Path) -> Recipe:
    """Load a built-in recipe by name or a user's YAML by path."""
    return parse_yaml_model(resolve_yaml(name_or_path, "recipes"), Recipe, "recipe")
