"""Switch off every place Ultralytics, OpenVINO, NNCF and ONNX Runtime reach for the network.

Call :func:`enforce_offline` before importing any of them. The switches are the ones measured in
``shared/ENVIRONMENT.md``: no online check, no requirement auto-install, no analytics, a local font
instead of the Arial download, telemetry off, and config folders outside HOME.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")
_done = False


def cache_root() -> Path:
    """Folder for edgecompress' own caches and the Ultralytics config it is given."""
    return Path(os.environ.get("EDGECOMPRESS_CACHE", Path(tempfile.gettempdir()) / "edgecompress"))


def _install_local_fonts(config_dir: Path) -> None:
    """Place matplotlib's DejaVuSans where Ultralytics looks for Arial, so it never downloads it."""
    import matplotlib

    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    target_dir = config_dir / "Ultralytics"
    target_dir.mkdir(parents=True, exist_ok=True)
    for name in _FONT_NAMES:
        target = target_dir / name
        if not target.exists():
            shutil.copyfile(source, target)


def enforce_offline() -> None:
    """Set the environment and settings that keep the runtimes offline (idempotent)."""
    global _done
    if _done:
        return
    config_dir = Path(os.environ.setdefault("YOLO_CONFIG_DIR", str(cache_root() / "ultralytics-config")))
    os.environ.setdefault("MPLCONFIGDIR", str(cache_root() / "matplotlib"))
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "0"
    os.environ.setdefault("YOLO_VERBOSE", "False")
    # OpenVINO/NNCF telemetry and onnxruntime's cache writes are off under CI=true
    os.environ["CI"] = os.environ.get("CI") or "true"
    os.environ.setdefault("OPENVINO_TELEMETRY_OPT_OUT", "1")
    _install_local_fonts(config_dir)
    from ultralytics.utils import SETTINGS

    if SETTINGS.get("sync", True):
        SETTINGS.update({"sync": False})
    _done = True
