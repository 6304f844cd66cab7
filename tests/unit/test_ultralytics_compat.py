"""Ultralytics patches live in one module that refuses an untested Ultralytics with one clear error."""

import pytest

from edgecompress.errors import InputError
from edgecompress.models.ultralytics_compat import TESTED_ULTRALYTICS, check_ultralytics_version


def test_the_tested_ultralytics_passes_and_the_installed_one_is_it():
    check_ultralytics_version(TESTED_ULTRALYTICS)
    check_ultralytics_version()  # the pin in pyproject.toml and the check agree


def test_another_ultralytics_is_refused_with_the_install_line():
    with pytest.raises(
        InputError, match=rf"ultralytics 8\.5\.0 is installed.*pip install ultralytics=={TESTED_ULTRALYTICS}"
    ):
        check_ultralytics_version("8.5.0")


def test_the_trainer_patch_is_installed_once():
    from ultralytics.models.yolo.detect import DetectionTrainer

    import edgecompress.models.yolo_modules  # noqa: F401  (installs the patch)

    assert getattr(DetectionTrainer.get_model, "keeps_compressed_architecture", False)
