"""Artifacts are written atomically and verified against their hashes."""

import pytest

from edgecompress.artifact import atomic_directory, verify_checksums, write_checksums
from edgecompress.errors import InputError


def test_failed_write_leaves_nothing_behind(tmp_path):
    out = tmp_path / "art"
    with pytest.raises(RuntimeError), atomic_directory(out) as partial:
        (partial / "half.bin").write_bytes(b"x")
        raise RuntimeError("stage failed")
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_force(tmp_path):
    out = tmp_path / "art"
    out.mkdir()
    with pytest.raises(InputError, match="already exists"), atomic_directory(out):
        pass
    with atomic_directory(out, force=True) as partial:
        (partial / "new.txt").write_text("new")
    assert (out / "new.txt").read_text() == "new"


def test_checksums_catch_changed_and_missing_files(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "sub" / "b.bin").write_bytes(b"b")
    sums = write_checksums(tmp_path)
    assert set(sums) == {"a.txt", "sub/b.bin"}
    verify_checksums(tmp_path)
    (tmp_path / "a.txt").write_text("tampered")
    with pytest.raises(InputError, match="changed since compile"):
        verify_checksums(tmp_path)
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "sub" / "b.bin").unlink()
    with pytest.raises(InputError, match="missing"):
        verify_checksums(tmp_path)


def _artifact(folder):
    from edgecompress.artifact import Manifest

    folder.mkdir()
    Manifest("yolo", "onnxruntime", "fp32", "model.onnx", 64, ["a"]).write(folder)
    (folder / "model.onnx").write_bytes(b"graph")
    import yaml

    from edgecompress.config import load_target

    (folder / "target.yaml").write_text(yaml.safe_dump(load_target("x86-cpu").model_dump()))
    write_checksums(folder)
    return folder


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda d: (d / "SHA256SUMS").write_text(""), "lists no files"),
        (lambda d: (d / "SHA256SUMS").write_text("nonsense\n"), "SHA256SUMS:1 is not"),
        (lambda d: (d / "SHA256SUMS").write_text("0" * 64 + "  ../../etc/passwd\n"), "SHA256SUMS:1 is not"),
        (lambda d: (d / "extra.bin").write_bytes(b"x"), "not listed in SHA256SUMS"),
        (
            lambda d: ((d / "artifact.json").write_text("garbage{"), write_checksums(d)),
            "not a valid artifact",
        ),
        (lambda d: ((d / "artifact.json").write_text("[1, 2]"), write_checksums(d)), "not a valid artifact"),
        (
            lambda d: ((d / "artifact.json").write_text('{"family": "yolo"}'), write_checksums(d)),
            "not a valid artifact",
        ),
    ],
)
def test_a_tampered_artifact_fails_closed(tmp_path, tamper, message):
    from edgecompress.artifact import open_artifact

    folder = _artifact(tmp_path / "art")
    open_artifact(folder)
    tamper(folder)
    with pytest.raises(InputError, match=message):
        open_artifact(folder)


def test_an_invalid_target_profile_in_an_artifact_is_an_input_error(tmp_path):
    from edgecompress.artifact import artifact_target

    folder = _artifact(tmp_path / "art")
    assert artifact_target(folder).name == "x86-cpu"
    (folder / "target.yaml").write_text("backend: [1, 2\n")
    with pytest.raises(InputError, match="not a valid target profile"):
        artifact_target(folder)


def test_output_that_is_a_file_or_a_symlink_is_refused_up_front(tmp_path):
    from edgecompress.artifact import check_output_dir

    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        check_output_dir(tmp_path / "file", force=True)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    for link in ("link", "dangling"):
        with pytest.raises(InputError, match="symbolic link"):
            check_output_dir(tmp_path / link, force=True)
    with pytest.raises(InputError, match="not a folder"):
        check_output_dir(tmp_path / "file" / "art", force=False)


def test_output_on_a_read_only_location_is_refused_up_front(tmp_path, monkeypatch):
    import errno
    import tempfile

    from edgecompress.artifact import check_output_dir

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    with pytest.raises(InputError, match=r"not writable \(Read-only file system\)"):
        check_output_dir(tmp_path / "new" / "art", force=False)


def test_a_second_compile_to_the_same_output_is_refused_and_stale_partials_go(tmp_path):
    from edgecompress.artifact import output_lock

    out = tmp_path / "art"
    stale = tmp_path / "art.partial-999999"
    stale.mkdir()
    with output_lock(out):
        assert not stale.exists()
        with pytest.raises(InputError, match="another compile is writing"), output_lock(out):
            pass
        with output_lock(tmp_path / "other"):  # another output is independent
            pass
    with output_lock(out):  # released
        pass
    assert list(tmp_path.iterdir()) == []  # no lock files left


SIGTERM_SCRIPT = """
import os, signal, sys
from pathlib import Path
from edgecompress.artifact import atomic_directory
from edgecompress.interrupts import Terminated, sigterm_as_interrupt

out = Path(sys.argv[1])
try:
    with sigterm_as_interrupt(), atomic_directory(out) as partial:
        (partial / "half.bin").write_bytes(b"x")
        os.kill(os.getpid(), signal.SIGTERM)  # the handler raises at the next bytecode
        for _ in range(10**7):
            pass
    sys.exit("SIGTERM did not interrupt")
except Terminated:
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the previous handler is back
    sys.exit(7)
"""


def test_sigterm_unwinds_like_ctrl_c_and_leaves_no_partial(tmp_path):
    """In a process of its own, as the CLI runs: a real SIGTERM to the test runner would end the suite."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", SIGTERM_SCRIPT, str(tmp_path / "art")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 7, done.stderr[-2000:]
    assert list(tmp_path.iterdir()) == []
