"""The errors edgecompress raises on purpose, each with a message and a hint that says how to fix it."""

from __future__ import annotations


class EdgecompressError(Exception):
    """Base error: ``message`` names the problem, ``hint`` the fix; ``exit_code`` is what the CLI returns."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(EdgecompressError):
    """Bad input from the user: missing file, wrong format, unknown target, ... (exit code 2)."""

    exit_code = 2


class BackendUnavailable(InputError):
    """The backend a target needs cannot run on this machine."""


class StageFailed(EdgecompressError):
    """A pipeline stage failed on valid input (exit code 1)."""

    exit_code = 1
