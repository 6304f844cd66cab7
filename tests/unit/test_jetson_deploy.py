"""deploy/jetson/: the container keeps JetPack's TensorRT and torch; every pip install is constrained."""

import re
from pathlib import Path

JETSON = Path(__file__).resolve().parents[2] / "deploy" / "jetson"


def test_container_builds_on_jetpack6_and_constrains_every_pip_install():
    text = (JETSON / "Dockerfile").read_text()
    assert re.search(r"^FROM nvcr\.io/nvidia/l4t-jetpack:\$\{L4T_TAG\}", text, re.M)
    assert re.search(r"^ARG L4T_TAG=r36\.", text, re.M)
    assert "venv --system-site-packages" in text  # sees JetPack's TensorRT bindings
    installs = [line for line in text.splitlines() if "pip install" in line and not line.startswith("#")]
    assert installs and all(
        "-c /opt/edgecompress/constraints.txt" in line or "--no-build-isolation" in line for line in installs
    )
    assert "[tensorrt]" not in text and "edgecompress lower" in text


def test_constraints_pin_jetpack_builds():
    pins = {
        re.split(r"[=<>]", line)[0]: line
        for line in (JETSON / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert ".nv" in pins["torch"].split("+")[1] and pins["tensorrt"].startswith("tensorrt==10.")
    assert {"torchvision", "numpy"} <= set(pins)
