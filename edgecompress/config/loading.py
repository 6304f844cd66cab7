"""Read a YAML file (a built-in name or a user path) into a pydantic model, with clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from edgecompress.errors import InputError
from edgecompress.resources import builtin_names, data_dir

ModelT = TypeVar("ModelT", bound=BaseModel)


def resolve_yaml(name_or_path: str | Path, kind: str) -> Path:
    """Return the YAML file for a built-in ``kind`` name (e.g. ``x86-cpu``) or an existing path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise InputError(f"{kind} file not found: {path}", "check the path")
        return path
    builtin = data_dir(kind) / f"{name_or_path}.yaml"
    if builtin.is_file():
        return builtin
    known = ", ".join(builtin_names(kind))
    singular = kind[:-1] if kind.endswith("s") else kind
    raise InputError(
        f"unknown {singular} {str(name_or_path)!r}", f"use one of: {known}, or a path to a YAML file"
    )


def yaml_error_summary(exc: yaml.YAMLError) -> str:
    """One line for a YAML syntax error: the problem and where (PyYAML's own text spans lines)."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else problem


def validation_summary(exc: ValidationError) -> str:
    """``<key path>: <message>`` of a pydantic error's first problem, on one line.

    A validator that checks nested settings itself (a recipe's stages) raises its ValueError with the
    full key path already in front; that path is used as it is.
    """
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    message = str(first["msg"]).removeprefix("Value error, ")
    return message if message.startswith(f"{where}.") else f"{where}: {message}"


def parse_yaml_model(path: Path, model: type[ModelT], kind: str) -> ModelT:
    """Validate the YAML at ``path`` against ``model``; unknown keys and bad values are InputErrors."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(
            f"{kind} {path} is not valid YAML: {yaml_error_summary(exc)}", "fix the YAML syntax"
        ) from exc
    if not isinstance(data, dict):
        raise InputError(f"{kind} {path} must be a mapping", "write key: value pairs at the top level")
    data.setdefault("name", path.stem)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{kind} {path}: {validation_summary(exc)}", "fix or remove that key") from exc
