"""Validated configuration: target profiles, recipes and calibration sets."""

from edgecompress.config.calibration import CalibrationSpec, load_calibration_spec
from edgecompress.config.recipe import Recipe, load_recipe
from edgecompress.config.target import TargetProfile, load_target

__all__ = [
    "CalibrationSpec",
    "Recipe",
    "TargetProfile",
    "load_calibration_spec",
    "load_recipe",
    "load_target",
]
