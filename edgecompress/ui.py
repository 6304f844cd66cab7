"""Console output: rich progress bars that disappear under ``--quiet``."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

T = TypeVar("T")
console = Console(stderr=True)
_quiet = False


# library loggers whose warnings say nothing about the compile: NNCF's import of its torch backend
# makes torch look for a CUDA toolkit ("No CUDA runtime is found, using CUDA_HOME=...") on CPU hosts
IRRELEVANT_LOGGERS = ("torch.utils.cpp_extension",)


def set_quiet(quiet: bool) -> None:
    """Turn progress bars and status lines off (``--quiet``, ``--json``); silence irrelevant library logs."""
    import logging

    global _quiet
    _quiet = quiet
    for name in IRRELEVANT_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate ``items`` with a progress bar on stderr."""
    if _quiet:
        yield from items
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=total if total is not None else len(items))  # type: ignore[arg-type]
        for item in items:
            yield item
            progress.advance(task)


def status(message: str) -> None:
    """Print one status line unless quiet."""
    if not _quiet:
        console.print(message)


@contextlib.contextmanager
def foreign_output() -> Iterator[None]:
    """Send a library's own progress output (NNCF, Ultralytics) to stderr, or nowhere under quiet."""
    target = open(os.devnull, "w") if _quiet else sys.stderr  # noqa: SIM115 - closed below
    try:
        with contextlib.redirect_stdout(target):
            yield
    finally:
        if target is not sys.stderr:
            target.close()
