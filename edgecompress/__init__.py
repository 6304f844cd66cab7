"""edgecompress: compile a trained detector into a smaller, faster model for one edge device.

``import edgecompress`` loads no runtime; they are imported inside the functions that need them.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def load(artifact: Any, conf: float = 0.25, iou: float = 0.7) -> Any:
    """Load a compiled artifact; see :func:`edgecompress.runtime.detector.load`."""
    from edgecompress.runtime.detector import load as _load

    return _load(artifact, conf, iou)


def compile(*args: Any, **kwargs: Any) -> Any:
    """Compile a model; see :func:`edgecompress.api.compile`."""
    from edgecompress.api import compile as _compile

    return _compile(*args, **kwargs)


__all__ = ["__version__", "compile", "load"]
