"""The artifact folder: written atomically (temp folder, rename), every file hashed and verified on load."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from edgecompress.errors import InputError

if TYPE_CHECKING:
    from edgecompress.config.target import TargetProfile

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
        """Read ``artifact.json`` from ``directory``; InputError if it is not a manifest of this format."""
        path = directory / MANIFEST
        try:
            data = json.loads(path.read_text())
            manifest = cls(**data) if isinstance(data, dict) else None
        except (ValueError, TypeError, UnicodeDecodeError):
            manifest = None
        if not (manifest and isinstance(manifest.model_file, str) and isinstance(manifest.names, list)):
            raise InputError(f"{path} is not a valid artifact manifest", "recompile the artifact")
        if manifest.format != ARTIFACT_FORMAT:
            raise InputError(
                f"{path} has artifact format {manifest.format}; this edgecompress reads {ARTIFACT_FORMAT}",
                "recompile the artifact with this version",
            )
        return manifest


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


def read_checksums(directory: Path) -> dict[str, str]:
    """The ``name -> sha256`` listing of ``SHA256SUMS``; InputError if missing, empty or malformed."""
    listing = directory / CHECKSUMS
    if not listing.is_file():
        raise InputError(f"{directory} has no {CHECKSUMS}", "pass a folder written by `edgecompress compile`")
    sums: dict[str, str] = {}
    for number, line in enumerate(listing.read_text(errors="replace").splitlines(), start=1):
        parts = line.split(maxsplit=1)
        valid = len(parts) == 2 and len(parts[0]) == 64 and all(c in "0123456789abcdef" for c in parts[0])
        if not valid or parts[1].startswith("/") or ".." in Path(parts[1]).parts:
            raise InputError(f"{listing}:{number} is not a '<sha256>  <file>' line", "recompile the artifact")
        sums[parts[1]] = parts[0]
    if not sums:
        raise InputError(f"{listing} lists no files", "recompile the artifact")
    return sums


def verify_checksums(directory: Path) -> None:
    """Fail closed: InputError unless ``SHA256SUMS`` lists exactly the folder's files, all unchanged."""
    sums = read_checksums(directory)
    for name, expected in sums.items():
        path = directory / name
        if not path.is_file():
            raise InputError(f"artifact file missing: {path}", "copy the whole artifact folder")
        if sha256_file(path) != expected:
            raise InputError(f"artifact file changed since compile: {path}", "recompile or copy it again")
    present = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}
    unlisted = sorted(present - set(sums) - {CHECKSUMS})
    if unlisted:
        raise InputError(
            f"artifact file not listed in {CHECKSUMS}: {directory / unlisted[0]}",
            "remove it, or recompile the artifact",
        )


def artifact_target(directory: Path) -> TargetProfile:
    """The verified artifact's ``target.yaml`` as a TargetProfile; InputError if it is not one."""
    import yaml
    from pydantic import ValidationError

    from edgecompress.config.target import TargetProfile

    path = directory / "target.yaml"
    try:
        return TargetProfile.model_validate(yaml.safe_load(path.read_text()))
    except (OSError, yaml.YAMLError, ValidationError, UnicodeDecodeError):
        problem = f"{path} is missing or not a valid target profile"
        raise InputError(problem, "recompile the artifact") from None


def open_artifact(
    directory: Path, hint: str = "pass the folder written by `edgecompress compile`"
) -> Manifest:
    """The manifest of an artifact folder whose files match their recorded hashes (InputError if not)."""
    if not (directory / MANIFEST).is_file():
        raise InputError(f"{directory} is not an edgecompress artifact (no {MANIFEST})", hint)
    verify_checksums(directory)
    return Manifest.read(directory)


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _probe_writable(folder: Path, out: Path) -> None:
    """InputError unless a folder can be created (and removed) in ``folder``: read-only, immutable, ..."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=f".{out.name}.probe-", dir=folder))
    except OSError as exc:
        raise InputError(
            f"cannot write the output {out}: {folder} is not writable ({exc.strerror})",
            "choose another --out",
        ) from None


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse, before any work, an output location the compile could not replace atomically."""
    if out.is_symlink():
        raise InputError(f"output {out} is a symbolic link", "pass the folder it points to, or another --out")
    if out.exists() and not out.is_dir():
        raise InputError(f"output {out} is a file, not a folder", "remove it or choose another --out")
    if out.exists() and not force:
        raise InputError(
            f"output folder {out} already exists", "pass --force to replace it or choose another --out"
        )
    parent = _nearest_existing(out.parent)
    if not parent.is_dir():
        raise InputError(f"cannot write the output {out}: {parent} is not a folder", "choose another --out")
    _probe_writable(parent, out)
    if out.exists():  # replaced with --force: its own entries must be removable too
        _probe_writable(out, out)


@contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold ``<out>.lock`` for a whole compile: a second compile to the same ``--out`` gets InputError.

    Whatever ``<out>.partial-*`` folders are found once the lock is held are left by a killed compile
    (nobody else can be writing them) and are removed.
    """
    import fcntl

    lock = out.absolute().with_name(f"{out.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        handle = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            raise InputError(
                f"another compile is writing {out}", "wait for it to finish or choose another --out"
            ) from None
        if lock.exists() and os.stat(lock).st_ino == os.fstat(handle).st_ino:
            break
        os.close(handle)  # its holder removed it between our open and our lock: take the new one
    try:
        for stale in lock.parent.glob(f"{out.name}.partial-*"):
            shutil.rmtree(stale, ignore_errors=True)
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(handle)


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
