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
