"""The Python API: ``compile`` and ``load``."""

from __future__ import annotations

from pathlib import Path

from edgecompress.runtime.detector import Detector
from edgecompress.runtime.detector import load as load


def compile(
    model: str | Path,
    data: str | Path,
    target: str = "x86-cpu",
    recipe: str = "default",
    precision: str | None = None,
    out: str | Path | None = None,
    force: bool = False,
    overrides: list[str] | None = None,
) -> Path:
    """Compile ``model`` for ``target`` and return the artifact folder."""
    from edgecompress.compiler import compile_model

    return compile_model(
        model=model,
        data=data,
        target=target,
        recipe=recipe,
        precision=precision,
        out=out,
        force=force,
        overrides=overrides,
    )


__all__ = ["Detector", "compile", "load"]
