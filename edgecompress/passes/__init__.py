"""Compression passes, one file each; ``PASSES`` maps the recipe key to the pass class."""

from __future__ import annotations

from edgecompress.passes.base import Pass, PassConfig, PassResult

PASSES: dict[str, type[Pass]] = {}

__all__ = ["PASSES", "Pass", "PassConfig", "PassResult"]
