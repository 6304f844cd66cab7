"""Every bad input gives one `error: <what> (<fix>)` line, exit code 2, and no artifact folder."""

from pathlib import Path

import numpy as np
import pytest

from edgecompress.cli import main
from edgecompress.errors import InputError


def _compile_fails(capsys, tmp_path: Path, *args: str) -> str:
    out = tmp_path / "art"
    code = main(["compile", *args, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("error: ") and "(" in err[0], err
    assert not out.exists()
    assert not list(tmp_path.glob("art.partial-*"))
    return err[0]


@pytest.fixture(scope="module")
def classifier_checkpoint(tmp_path_factory) -> Path:
    from ultralytics import YOLO

    path = tmp_path_factory.mktemp("cls") / "cls.pt"
    YOLO("yolov8n-cls.yaml").save(str(path))
    return path


def test_missing_checkpoint(capsys, tmp_path, tiny_digits):
    line = _compile_fails(capsys, tmp_path, str(tmp_path / "nope.pt"), "--data", str(tiny_digits))
    assert "checkpoint not found" in line


def test_corrupt_checkpoint(capsys, tmp_path, tiny_digits):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"\x80\x04garbage" * 100)
    line = _compile_fails(capsys, tmp_path, str(bad), "--data", str(tiny_digits))
    assert "cannot load checkpoint" in line and "corrupt" in line


def test_truncated_checkpoint_names_the_root_cause_on_one_line(capsys, tmp_path, tiny_digits, demo_model):
    cut = tmp_path / "cut.pt"
    cut.write_bytes(demo_model.read_bytes()[:100_000])
    line = _compile_fails(capsys, tmp_path, str(cut), "--data", str(tiny_digits))
    assert "cannot load checkpoint" in line and "zip archive" in line
    assert "ERROR" not in line and "not a loadable checkpoint" not in line  # not Ultralytics' wrapped text


def test_wrong_format(capsys, tmp_path, tiny_digits):
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"x")
    assert "not a .pt checkpoint" in _compile_fails(capsys, tmp_path, str(onnx), "--data", str(tiny_digits))


def test_checkpoint_that_is_not_a_detector(capsys, tmp_path, tiny_digits, classifier_checkpoint):
    line = _compile_fails(capsys, tmp_path, str(classifier_checkpoint), "--data", str(tiny_digits))
    assert "'classify' model, not a detector" in line


def test_checkpoint_from_another_ultralytics_is_refused_at_load(capsys, tmp_path, demo_model, tiny_digits):
    """A module whose attributes differ from this Ultralytics' (YOLOv12's AAttn.qkv did) fails a forward."""
    from ultralytics import YOLO

    yolo = YOLO(str(demo_model))
    del yolo.model.model[2].cv1.conv  # the saved module lacks an attribute this version's forward uses
    old = tmp_path / "old.pt"
    yolo.save(str(old))
    line = _compile_fails(capsys, tmp_path, str(old), "--data", str(tiny_digits))
    assert "its Conv module does not run under Ultralytics" in line and "another version" in line


def test_rtdetr_checkpoint_is_refused_at_load(capsys, tmp_path, tiny_digits):
    from ultralytics import RTDETR

    path = tmp_path / "rtdetr.pt"
    RTDETR("rtdetr-l.yaml").save(str(path))
    line = _compile_fails(capsys, tmp_path, str(path), "--data", str(tiny_digits))
    assert "RTDETRDetectionModel" in line


def test_val_split_without_labels(capsys, tmp_path, demo_model, tiny_digits):
    import shutil

    root = tmp_path / "nolabels"
    shutil.copytree(tiny_digits.parent / "images", root / "images")
    (root / "data.yaml").write_text(
        f"path: {root}\ntrain: images/train\nval: images/val\nnames: {list('0123456789')}\n"
    )
    line = _compile_fails(capsys, tmp_path, str(demo_model), "--data", str(root / "data.yaml"))
    assert "has no label files" in line


def _broken_copy(tmp_path: Path, tiny_digits: Path, break_it) -> Path:
    """A copy of the tiny digits set with its first val label file or image broken by ``break_it``."""
    import shutil

    root = tmp_path / "broken"
    shutil.copytree(tiny_digits.parent, root)
    text = (root / tiny_digits.name).read_text().replace(str(tiny_digits.parent), str(root))
    (root / tiny_digits.name).write_text(text)
    image = sorted((root / "images" / "val").iterdir())[0]
    break_it(image, root / "labels" / "val" / f"{image.stem}.txt")
    return root / tiny_digits.name


@pytest.mark.parametrize(
    ("label_line", "message"),
    [
        ("99 0.5 0.5 0.1 0.1", "class id 99 is not one of 0..9"),
        ("-1 0.5 0.5 0.1 0.1", "class id -1"),
        ("3 nan 0.5 0.1 0.1", "non-finite"),
        ("3 -0.5 0.5 0.1 0.1", "outside [0, 1]"),
        ("3 0.5 0.5", "3 columns"),
        ("three 0.5 0.5 0.1 0.1", "'three' is not a number"),
    ],
)
def test_bad_val_label_is_named_before_any_work(
    capsys, tmp_path, demo_model, tiny_digits, label_line, message
):
    def add_line(image: Path, label: Path) -> None:
        label.write_text(label.read_text() + label_line + "\n")

    data = _broken_copy(tmp_path, tiny_digits, add_line)
    line = _compile_fails(capsys, tmp_path, str(demo_model), "--data", str(data))
    assert message in line and ".txt:" in line


def test_corrupt_val_image_is_named_before_any_work(capsys, tmp_path, demo_model, tiny_digits):
    def corrupt(image: Path, label: Path) -> None:
        image.write_bytes(image.read_bytes()[:40])

    data = _broken_copy(tmp_path, tiny_digits, corrupt)
    assert "is corrupt" in _compile_fails(capsys, tmp_path, str(demo_model), "--data", str(data))


def test_bad_train_label_is_refused_when_a_stage_trains(capsys, tmp_path, demo_model, tiny_digits):
    def break_train(image: Path, label: Path) -> None:
        first = sorted((label.parent.parent / "train").iterdir())[0]
        first.write_text("42 0.5 0.5 0.1 0.1\n")

    from edgecompress.compile_inputs import check_dataset
    from edgecompress.config import load_recipe
    from edgecompress.data import load_split

    data = _broken_copy(tmp_path, tiny_digits, break_train)
    check_dataset(load_recipe("default"), data, load_split(data))  # no stage reads the train labels
    line = _compile_fails(capsys, tmp_path, str(demo_model), "--data", str(data), "--recipe", "yolo-slim-cwd")
    assert "class id 42" in line


def test_nms_free_on_a_head_without_one_to_one_branches(capsys, tmp_path, demo_model, tiny_digits):
    setting = ["--set", "lower.nms_free=true"]
    line = _compile_fails(capsys, tmp_path, str(demo_model), "--data", str(tiny_digits), *setting)
    assert "end-to-end (one-to-one) head" in line and "yolov8n-digits.pt" in line


def test_unknown_target(capsys, tmp_path, demo_model, tiny_digits):
    line = _compile_fails(
        capsys, tmp_path, str(demo_model), "--data", str(tiny_digits), "--target", "pi-zero"
    )
    assert "unknown target 'pi-zero'" in line and "x86-cpu" in line


def test_precision_the_target_does_not_offer(capsys, tmp_path, demo_model, tiny_digits):
    line = _compile_fails(
        capsys,
        tmp_path,
        str(demo_model),
        "--data",
        str(tiny_digits),
        "--target",
        "x86-cpu-ort",
        "--precision",
        "int8",
    )
    assert "does not offer precision int8" in line


@pytest.mark.parametrize("imgsz", ["0", "-32", "33", "10000"])
def test_image_size_that_is_not_a_positive_stride_multiple(capsys, tmp_path, demo_model, tiny_digits, imgsz):
    argv = [str(demo_model), "--data", str(tiny_digits), "--target", "x86-cpu", "--imgsz", imgsz]
    line = _compile_fails(capsys, tmp_path, *argv)
    assert f"--imgsz {imgsz} is not a multiple of the model's stride 32" in line


def test_bf16_on_a_cpu_without_bf16(capsys, tmp_path, demo_model, tiny_digits, quick_ov_target):
    from edgecompress.measure.environment import cpu_has_bf16

    if cpu_has_bf16():
        pytest.skip("this CPU runs bf16: tests/unit/test_openvino_precision.py checks it runs")
    argv = [str(demo_model), "--data", str(tiny_digits), "--target", str(quick_ov_target)]
    line = _compile_fails(capsys, tmp_path, *argv, "--precision", "bf16")
    assert "bf16 needs a CPU with AVX512_BF16 or AMX" in line


def test_tensorrt_profile_with_dla_at_fp32(capsys, tmp_path, demo_model, tiny_digits):
    # a TensorRT target compiles without TensorRT (tests/integration/test_tensorrt_split.py), but a
    # profile the device could not build is refused before any work
    profile = tmp_path / "orin-dla.yaml"
    profile.write_text(
        "description: Orin NX on DLA\nbackend: tensorrt\ndevice: cuda:0\nprecisions: [fp32, fp16, int8]\n"
        "default_precision: fp32\nbuild_on_device: true\ntensorrt: {workspace_gb: 4, dla_core: 0}\n"
    )
    line = _compile_fails(
        capsys, tmp_path, str(demo_model), "--data", str(tiny_digits), "--target", str(profile)
    )
    assert "DLA core 0" in line and "--precision fp16" in line


def test_existing_output_folder_without_force(capsys, tmp_path, demo_model, tiny_digits):
    out = tmp_path / "art"
    out.mkdir()
    code = main(["compile", str(demo_model), "--data", str(tiny_digits), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "already exists" in err[0] and "--force" in err[0]
    assert list(out.iterdir()) == []


def test_second_compile_to_the_same_output_is_refused(capsys, tmp_path, demo_model, tiny_digits):
    from edgecompress.artifact import output_lock

    with output_lock(tmp_path / "art"):  # a compile to art/ is running
        line = _compile_fails(capsys, tmp_path, str(demo_model), "--data", str(tiny_digits), "--force")
    assert "another compile is writing" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["file", "symlink", "dangling symlink"])
def test_output_that_cannot_be_replaced_is_refused_up_front(capsys, tmp_path, demo_model, tiny_digits, kind):
    out = tmp_path / "art"
    if kind == "file":
        out.write_text("not a folder")
    else:
        out.symlink_to(tmp_path if kind == "symlink" else tmp_path / "gone")
    code = main(["compile", str(demo_model), "--data", str(tiny_digits), "--out", str(out), "--force"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and ("is a file" in err[0] or "symbolic link" in err[0]), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]


def test_model_without_data(capsys, tmp_path, demo_model):
    assert "--data is required" in _compile_fails(capsys, tmp_path, str(demo_model))


def test_unreadable_image_in_predict(tmp_path):
    from edgecompress.runtime.detector import Detector

    class Never:
        def __call__(self, batch):
            raise AssertionError("runtime must not run on a bad image")

    detector = Detector(Never(), 64, ["a"])
    (tmp_path / "x.jpg").write_text("text")
    with pytest.raises(InputError, match="cannot read image"):
        detector.predict(tmp_path / "x.jpg")
    with pytest.raises(InputError, match="shape"):
        detector.predict(np.zeros((4, 4, 5), dtype=np.uint8))


def test_load_refuses_a_folder_that_is_not_an_artifact(tmp_path):
    import edgecompress

    with pytest.raises(InputError, match="not an edgecompress artifact"):
        edgecompress.load(tmp_path)
