"""Targets, recipes and calibration specs validate completely and reject unknown keys."""

import pytest

from edgecompress.config import load_calibration_spec, load_recipe, load_target
from edgecompress.config.recipe import apply_overrides
from edgecompress.errors import InputError
from edgecompress.resources import builtin_names


def test_every_builtin_target_loads_and_offers_its_default():
    names = builtin_names("targets")
    assert {"x86-cpu", "x86-cpu-ort", "orin-nano", "orin-nx", "agx-orin"} <= set(names)
    for name in names:
        profile = load_target(name)
        assert profile.default_precision in profile.precisions
    assert load_target("orin-nx").build_on_device
    assert load_target("x86-cpu").backend == "openvino"


def test_unknown_target_names_the_known_ones():
    with pytest.raises(InputError, match=r"unknown target 'jetson-tx9'.*x86-cpu"):
        load_target("jetson-tx9")


def test_unknown_key_in_a_user_target_is_rejected(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "description: d\nbackend: openvino\nprecisions: [fp32]\ndefault_precision: fp32\nthreds: 2\n"
    )
    with pytest.raises(InputError, match="threds"):
        load_target(path)


def test_default_precision_must_be_offered(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("description: d\nbackend: openvino\nprecisions: [fp32]\ndefault_precision: int8\n")
    with pytest.raises(InputError, match="default_precision"):
        load_target(path)


def test_recipe_overrides_are_revalidated():
    recipe = apply_overrides(load_recipe("default"), ["lower.precision=fp16", "measure.imgsz=256"])
    assert recipe.lower.precision == "fp16" and recipe.measure.imgsz == 256
    with pytest.raises(InputError, match="no such recipe key"):
        apply_overrides(recipe, ["lower.nope.x=1"])
    with pytest.raises(InputError, match="invalid"):
        apply_overrides(recipe, ["lower.precision=int4"])


def test_recipe_with_unknown_pass_is_rejected(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("stages:\n  - pass: magic_prune\n")
    with pytest.raises(InputError, match=r"stages\.0\.pass: unknown pass 'magic_prune'"):
        load_recipe(path)


def test_calibration_spec_defaults():
    spec = load_calibration_spec("default")
    assert spec.split == "train" and spec.count == 300 and spec.selection == "seeded"


def test_every_builtin_recipe_validates_with_its_passes():
    from edgecompress.passes import PASSES

    for name in builtin_names("recipes"):
        recipe = load_recipe(name)
        for stage in recipe.stages:
            PASSES[stage["pass"]].Config.model_validate({k: v for k, v in stage.items() if k != "pass"})
    slim = load_recipe("yolo-slim-cwd")
    assert [s["pass"] for s in slim.stages] == ["sparsity_train", "bn_prune", "distill"]


def test_a_bad_pass_setting_fails_before_any_work(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("stages:\n  - pass: distill\n  - pass: bn_prune\n    ratio: 1.5\n")
    with pytest.raises(InputError) as caught:
        load_recipe(path)
    assert "stages.1.ratio: Input should be less than 1" in str(caught.value)  # the key path, with its index
    with pytest.raises(InputError) as caught:
        apply_overrides(load_recipe("yolo-prune50"), ["stages.0.ratio=2"])
    assert "stages.0.ratio: Input should be less than 1" in str(caught.value)


def test_a_yaml_syntax_error_is_one_line_with_its_position(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("name: x\nbackend: [openvino\n")
    with pytest.raises(InputError) as caught:
        load_target(path)
    assert "\n" not in str(caught.value) and "line 3" in str(caught.value)
