"""Compression passes, one file each; ``PASSES`` maps the recipe key to the pass class."""

from __future__ import annotations

from edgecompress.passes.base import Pass, PassConfig, PassResult
from edgecompress.passes.bn_prune import BNPrunePass

PASSES: dict[str, type[Pass]] = {cls.name: cls for cls in (BNPrunePass,)}

__all__ = ["PASSES", "Pass", "PassConfig", "PassResult"]
