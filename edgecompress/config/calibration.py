"""Calibration-set definitions (``calibration/*.yaml``): which images quantization calibrates on."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from edgecompress.config.loading import parse_yaml_model, resolve_yaml
from edgecompress.config.target import StrictModel


class CalibrationSpec(StrictModel):
    """Which split, how many images and how they are chosen; preprocessing is the deploy letterbox."""

    name: str
    description: str = ""
    split: Literal["train", "val", "test"] = "train"
    count: int = Field(300, ge=1, description="images to use; all of the split if it has fewer")
    selection: Literal["seeded", "first", "stratified"] = Field(
        "seeded",
        description="seeded: random subset; first: in order; stratified: every class of the split "
        "covered as evenly as possible (seeded, needs labels)",
    )
    seed: int = 0


def load_calibration_spec(name_or_path: str | Path) -> CalibrationSpec:
    """Load a built-in calibration definition by name or a user's YAML by path."""
    return parse_yaml_model(resolve_yaml(name_or_path, "calibration"), CalibrationSpec, "calibration")
