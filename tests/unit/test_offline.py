"""The offline switches are set, and the network guard really blocks connections."""

import os
import socket
from pathlib import Path

import pytest

from tests.conftest import NetworkAccessError


def test_guard_blocks_non_loopback_connections():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(NetworkAccessError):
        sock.connect(("93.184.216.34", 80))


def test_switches_are_set():
    assert os.environ["YOLO_OFFLINE"] == "1"
    assert os.environ["YOLO_AUTOINSTALL"] == "0"
    assert os.environ["CI"]
    font_dir = Path(os.environ["YOLO_CONFIG_DIR"]) / "Ultralytics"
    assert (font_dir / "Arial.ttf").stat().st_size > 100_000
    assert (font_dir / "Arial.Unicode.ttf").exists()
    from ultralytics.utils import SETTINGS

    assert SETTINGS["sync"] is False
    assert not str(font_dir).startswith(str(Path.home()))
