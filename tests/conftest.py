"""Shared fixtures; a network guard turns any non-loopback connection into a test failure."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
_CACHE = Path(tempfile.mkdtemp(prefix="ec-tests-"))
os.environ["EDGECOMPRESS_CACHE"] = str(_CACHE)
os.environ["YOLO_CONFIG_DIR"] = str(_CACHE / "ultralytics-config")
os.environ["MPLCONFIGDIR"] = str(_CACHE / "matplotlib")
os.environ["CI"] = "true"


class NetworkAccessError(AssertionError):
    """A test tried to reach the network."""


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths
        return True
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_local(address):
        raise NetworkAccessError(f"test opened a network connection to {address}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_local(address):
        raise NetworkAccessError(f"test opened a network connection to {address}")
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]

from edgecompress.offline import enforce_offline  # noqa: E402

enforce_offline()


@pytest.fixture(scope="session")
def tiny_digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small digits dataset (24 train, 16 val images at 320) and its data.yaml."""
    from edgecompress.demo.digits import build_digits_dataset

    return build_digits_dataset(tmp_path_factory.mktemp("digits"), {"train": 24, "val": 16})


@pytest.fixture(scope="session")
def demo_model() -> Path:
    """The bundled demo checkpoint."""
    from edgecompress.demo import demo_checkpoint

    path = demo_checkpoint()
    assert path.exists(), "the bundled demo checkpoint is missing (bench/train_demo.py rebuilds it)"
    return path


@pytest.fixture(scope="session")
def coco_model() -> Path:
    """The COCO-pretrained YOLOv8n from ../shared/data."""
    path = SHARED / "yolov8n-coco" / "yolov8n_coco.pt"
    if not path.exists():
        pytest.skip("../shared/data/yolov8n-coco not present")
    return path


@pytest.fixture(scope="session")
def coco128(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A writable copy of ../shared/data/coco128 with an absolute path in its data.yaml."""
    source = SHARED / "coco128"
    if not source.exists():
        pytest.skip("../shared/data/coco128 not present")
    root = tmp_path_factory.mktemp("coco128")
    shutil.copytree(source / "images", root / "images")
    shutil.copytree(source / "labels", root / "labels")
    text = (source / "data.yaml").read_text()
    lines = [f"path: {root}" if line.startswith("path:") else line for line in text.splitlines()]
    (root / "data.yaml").write_text("\n".join(lines) + "\n")
    return root / "data.yaml"


@pytest.fixture(scope="session")
def ultralytics_assets() -> list[Path]:
    """The two photographs shipped inside the ultralytics package."""
    import ultralytics

    assets = Path(ultralytics.__file__).parent / "assets"
    return [assets / "bus.jpg", assets / "zidane.jpg"]


def _quick_target(folder: Path, backend: str, precisions: str, default: str) -> Path:
    path = folder / f"quick-{backend}.yaml"
    path.write_text(
        f"description: {backend} on this CPU, short latency run for tests\nbackend: {backend}\ndevice: CPU\n"
        f"precisions: [{precisions}]\ndefault_precision: {default}\nthreads: 2\n"
        "latency: {warmup: 1, iterations: 5, batch: 1}\n"
    )
    return path


@pytest.fixture(scope="session")
def quick_ov_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user-supplied OpenVINO profile (INT8 default) with a short latency run."""
    return _quick_target(tmp_path_factory.mktemp("targets"), "openvino", "fp32, bf16, fp16, int8", "int8")


@pytest.fixture(scope="session")
def quick_ort_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user-supplied ONNX Runtime profile with a short latency run."""
    return _quick_target(tmp_path_factory.mktemp("targets"), "onnxruntime", "fp32", "fp32")


@pytest.fixture(scope="session")
def demo_compile_argv(demo_model: Path, tiny_digits: Path):
    """Build `edgecompress compile` arguments for the demo model on the tiny digits set."""

    def argv(*extra: object) -> list[str]:
        return ["compile", str(demo_model), "--data", str(tiny_digits), *(str(e) for e in extra)]

    return argv


@pytest.fixture(scope="session")
def ort_artifact(tmp_path_factory: pytest.TempPathFactory, demo_compile_argv, quick_ort_target) -> Path:
    """The demo model compiled once at imgsz 160 for ONNX Runtime FP32 (for the deploy-side tests)."""
    from edgecompress.cli import main

    out = tmp_path_factory.mktemp("runs") / "demo-ort-160"
    assert main(demo_compile_argv("--target", quick_ort_target, "--imgsz", 160, "--out", out, "--quiet")) == 0
    return out


@pytest.fixture(scope="session")
def digits_video(tiny_digits: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 16 digits val images, twice over, as a 32-frame MJPG video (320x320)."""
    import cv2

    images = sorted((tiny_digits.parent / "images" / "val").glob("*.jpg"))
    path = tmp_path_factory.mktemp("video") / "digits.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (320, 320))
    for i in range(32):
        writer.write(cv2.resize(cv2.imread(str(images[i % len(images)])), (320, 320)))
    writer.release()
    return path
