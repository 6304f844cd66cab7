"""`edgecompress calibrate`: letterboxed calibration tensors cached with their image paths and hashes."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from edgecompress.calibration_set import CalibrationSet, build_calibration_set
from edgecompress.cli import main
from edgecompress.config import load_calibration_spec
from edgecompress.errors import InputError
from edgecompress.runtime.preprocess import preprocess, read_image


def _spec_file(tmp_path: Path, selection: str, count: int) -> Path:
    path = tmp_path / f"{selection}-{count}.yaml"
    path.write_text(f"split: train\ncount: {count}\nselection: {selection}\nseed: 5\n")
    return path


def test_cache_round_trips_tensors_paths_and_hashes(tmp_path, tiny_digits):
    spec = load_calibration_spec(_spec_file(tmp_path, "seeded", 6))
    built = build_calibration_set(tiny_digits, spec, 96)
    loaded = CalibrationSet.load(built.save(tmp_path / "cache.npz"))
    assert len(loaded.inputs) == 6 and loaded.inputs[0].shape == (1, 3, 96, 96)
    for a, b in zip(built.inputs, loaded.inputs, strict=True):
        assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b)
    assert loaded.images == built.images and loaded.images_sha256 == built.images_sha256
    assert loaded.spec == spec and loaded.imgsz == 96
    for path, digest, tensor in zip(loaded.images, loaded.images_sha256, loaded.inputs, strict=True):
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == digest
        assert np.array_equal(preprocess([read_image(path)], 96)[0], tensor)  # the deploy letterbox


def test_calibrate_command_writes_a_stratified_cache(tmp_path, tiny_digits, capsys):
    out = tmp_path / "calib.npz"
    argv = ["calibrate", "--data", str(tiny_digits), "--imgsz", "64", "--out", str(out)]
    assert main([*argv, "--calibration", str(_spec_file(tmp_path, "stratified", 8))]) == 0
    assert str(out) in capsys.readouterr().out
    cache = CalibrationSet.load(out)
    assert len(cache.inputs) == 8 and cache.spec.selection == "stratified"
    from edgecompress.data import load_split

    split = load_split(tiny_digits, "train")
    present = {int(c) for p in split.images for c in split.labels(p)[0]}
    assert {int(c) for p in cache.images for c in split.labels(Path(p))[0]} == present
    assert main(argv) == 2  # exists, no --force
    assert "error:" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0
    assert len(CalibrationSet.load(out).inputs) == 24  # default spec (300): every train image


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    return err[0]


def test_calibrate_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "c.npz"
    assert main(["calibrate", "--data", str(tmp_path / "nope.yaml"), "--out", str(out)]) == 2
    assert "data yaml not found" in _one_error_line(capsys)
    (tmp_path / "images" / "train").mkdir(parents=True)
    (tmp_path / "data.yaml").write_text(f"path: {tmp_path}\ntrain: images/train\nnames: [a]\n")
    assert main(["calibrate", "--data", str(tmp_path / "data.yaml"), "--out", str(out)]) == 2
    assert "has no images" in _one_error_line(capsys)
    assert (
        main(["calibrate", "--data", str(tmp_path / "data.yaml"), "--calibration", "nope", "--out", str(out)])
        == 2
    )
    assert "unknown calibration" in _one_error_line(capsys)
    assert list(tmp_path.glob("c.npz*")) == []


def test_loading_a_foreign_file_is_an_input_error(tmp_path):
    (tmp_path / "x.npz").write_text("not numpy")
    with pytest.raises(InputError, match="not an edgecompress calibration cache"):
        CalibrationSet.load(tmp_path / "x.npz")


def test_compile_calibrates_from_a_cache_and_reports_its_hashes(
    tmp_path, capsys, demo_compile_argv, quick_ov_target, tiny_digits
):
    from edgecompress.report import Report

    cache = tmp_path / "calib.npz"
    spec = _spec_file(tmp_path, "stratified", 6)
    argv = ["calibrate", "--data", str(tiny_digits), "--calibration", str(spec)]
    assert main([*argv, "--imgsz", "128", "--out", str(cache)]) == 0
    out = tmp_path / "int8"
    sets = ["--set", f"lower.calibration={cache}", "--set", "measure.baseline=false"]
    compile_argv = demo_compile_argv("--target", quick_ov_target, "--precision", "int8", *sets, "--quiet")
    assert main([*compile_argv, "--set", "measure.accuracy=false", "--imgsz", "128", "--out", str(out)]) == 0
    report, cached = Report.read(out / "report.json"), CalibrationSet.load(cache)
    assert report.calibration.count == 6 and report.calibration.spec == spec.stem
    assert report.calibration.images_sha256 == cached.images_sha256
    assert report.row("result").details["calibration_images"] == 6
    capsys.readouterr()
    assert main([*compile_argv, "--imgsz", "160", "--out", str(tmp_path / "other")]) == 2
    assert "holds 128x128 inputs" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()
