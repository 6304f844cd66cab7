"""The artifact folder: written atomically (temp folder, rename), every file hashed and verified on load."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edgecompress.errors import InputError

CHECKSUMS = "SHA256SUMS"
MANIFEST = "artifact.json"
ARTIFACT_FORMAT = 1


@dataclass
class Manifest:
    """What the deploy runtime needs to load an artifact."""

    family: str
    backend: str
    precision: str
    model_file: str
    imgsz: int
    names: list[str]
    format: int = ARTIFACT_FORMAT
    # TensorRT split: the ONNX the engine is built from, whether the engine still has to be built on
    # the device (`edgecompress lower`), and the versions it was built with (checked by `load`)
    onnx_file: str | None = None
    engine_pending: bool = False
    built_with: dict[str, str] = field(default_factory=dict)

    def write(self, directory: Path) -> None:
        """Write ``artifact.json`` into ``directory``."""
        (directory / MANIFEST).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        """Read ``artifact.json`` from ``directory``."""
        return cls(**json.loads((directory / MANIFEST).read_text()))


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_checksums(directory: Path) -> dict[str, str]:
    """Hash every file under ``directory`` into ``SHA256SUMS``; return the mapping."""
    sums = {
        p.relative_to(directory).as_posix(): sha256_file(p)
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != CHECKSUMS
    }
    (directory / CHECKSUMS).write_text("".join(f"{h}  {name}\n" for name, h in sums.items()))
    return sums


def verify_checksums(directory: Path) -> None:
    """Raise InputError if a file listed in ``SHA256SUMS`` is missing or changed."""
    listing = directory / CHECKSUMS
    if not listing.is_file():
        raise InputError(f"{directory} has no {CHECKSUMS}", "pass a folder written by `edgecompress compile`")
    for line in listing.read_text().splitlines():
        expected, name = line.split(maxsplit=1)
        path = directory / name
        if not path.is_file():
            raise InputError(f"artifact file missing: {path}", "copy the whole artifact folder")
        if sha256_file(path) != expected:
            raise InputError(f"artifact file changed since compile: {path}", "recompile or copy it again")


def open_artifact(
    directory: Path, hint: str = "pass the folder written by `edgecompress compile`"
) -> Manifest:
    """The manifest of an artifact folder whose files match their recorded hashes (InputError if not)."""
    if not (directory / MANIFEST).is_file():
        raise InputError(f"{directory} is not an edgecompress artifact (no {MANIFEST})", hint)
    verify_checksums(directory)
    return Manifest.read(directory)


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse an existing output folder unless ``force``."""
    if out.exists() and not force:
        raise InputError(
            f"output folder {out} already exists", "pass --force to replace it or choose another --out"
        )


@contextmanager
def atomic_directory(out: Path, force: bool = False) -> Iterator[Path]:
    """Yield ``<out>.partial-<pid>``; on success it replaces ``out``, on any error it is removed."""
    check_output_dir(out, force)
    partial = out.with_name(f"{out.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        yield partial
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
