"""The accuracy guard's recipe settings and the stratified calibration definition validate."""

import pytest

from edgecompress.backends.openvino import bias_correction_mode
from edgecompress.config import load_calibration_spec, load_recipe
from edgecompress.config.recipe import apply_overrides
from edgecompress.errors import InputError


def test_accuracy_guard_is_off_by_default_and_set_by_overrides():
    recipe = load_recipe("default")
    assert recipe.lower.accuracy_guard.max_drop is None
    sets = ["lower.accuracy_guard.max_drop=0.01", "lower.accuracy_guard.images=50"]
    guard = apply_overrides(recipe, sets).lower.accuracy_guard
    assert guard.max_drop == 0.01 and guard.images == 50 and guard.split == "val"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("lower.accuracy_guard.max_drop=1.5", "max_drop"),
        ("lower.accuracy_guard.split=test", "split"),
        ("lower.accuracy_guard.images=0", "images"),
        ("lower.accuracy_guard.maxdrop=0.01", "maxdrop"),
    ],
)
def test_bad_accuracy_guard_values_are_input_errors(setting, message):
    with pytest.raises(InputError, match=rf"lower\.accuracy_guard\.{message}"):
        apply_overrides(load_recipe("default"), [setting])


def test_unknown_guard_key_in_a_recipe_file_is_rejected(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("lower:\n  precision: int8\n  accuracy_guard: {max_drop: 0.01, tolerance: 2}\n")
    with pytest.raises(InputError, match="tolerance"):
        load_recipe(path)


def test_stratified_calibration_definition_and_bad_selection(tmp_path):
    assert load_calibration_spec("stratified").selection == "stratified"
    path = tmp_path / "c.yaml"
    path.write_text("selection: balanced\n")
    with pytest.raises(InputError, match="selection"):
        load_calibration_spec(path)


def _plan(recipe, data):
    from types import SimpleNamespace

    return SimpleNamespace(recipe=recipe, data=data, imgsz=320)


def test_bias_correction_is_chosen_on_seeded_labelled_train_images(tiny_digits):
    from edgecompress.compile_inputs import quantization_choice

    recipe = load_recipe("default")
    assert recipe.lower.bias_correction == "auto"
    ten_images = apply_overrides(recipe, ["lower.bias_correction_images=10"])
    choice = quantization_choice(_plan(ten_images, tiny_digits))
    assert choice.bias_correction == "auto" and choice.metric is not None
    assert len(choice.items) == 10 and all("train" in str(p) for p in choice.items)
    assert choice.settings == {"metric": "mAP50-95", "split": "train", "seed": 1}
    again = quantization_choice(_plan(ten_images, tiny_digits))
    assert list(again.items) == list(choice.items)  # seeded
    fixed = quantization_choice(_plan(apply_overrides(recipe, ["lower.bias_correction=fast"]), tiny_digits))
    assert fixed.bias_correction == "fast" and not fixed.items


def test_auto_bias_correction_without_train_labels_has_nothing_to_choose_on(tiny_digits, tmp_path):
    import shutil

    from edgecompress.compile_inputs import quantization_choice

    root = tmp_path / "digits"
    shutil.copytree(tiny_digits.parent, root)
    shutil.rmtree(root / "labels" / "train")
    data = root / tiny_digits.name
    data.write_text(tiny_digits.read_text().replace(str(tiny_digits.parent), str(root)))
    choice = quantization_choice(_plan(load_recipe("default"), data))
    assert choice.bias_correction == "auto" and not choice.items
    assert bias_correction_mode(choice, None) == "full"  # nothing to choose on


def test_bias_correction_mode_auto_needs_images_and_no_guard():
    from edgecompress.backends.base import AccuracyGuard, QuantizationChoice

    images = QuantizationChoice("auto", ["a.jpg"], lambda runtime, items: (0.0, []))
    guard = AccuracyGuard(0.01, ["a.jpg"], lambda runtime, items: (0.0, []))
    assert bias_correction_mode(images, None) == "auto"
    assert bias_correction_mode(images, guard) == "full"
    assert bias_correction_mode(QuantizationChoice("fast"), guard) == "fast"
    assert bias_correction_mode(None, None) == "full"  # policies' graphs: the default


def test_bad_bias_correction_is_an_input_error():
    with pytest.raises(InputError, match=r"lower\.bias_correction"):
        apply_overrides(load_recipe("default"), ["lower.bias_correction=slow"])
