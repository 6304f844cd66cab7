"""Locate the packaged data folders (``targets/``, ``calibration/``) in a wheel or a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder ``name`` from the installed wheel (``_data/``) or from the repository root."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"packaged folder {name!r} not found next to {_PACKAGE}")


def builtin_names(kind: str) -> list[str]:
    """Names of the built-in YAML files in ``targets`` or ``calibration``."""
    return sorted(p.stem for p in data_dir(kind).glob("*.yaml"))
