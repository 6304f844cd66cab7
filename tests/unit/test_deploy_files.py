"""deploy/: the systemd unit runs a valid `edgecompress run` command; the ROS 2 package is consistent."""

import ast
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from edgecompress.cli import build_parser
from edgecompress.ros import messages

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ROS_PKG = DEPLOY / "ros2" / "edgecompress_ros"


def _unit(name: str) -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key] = value
    return values


def _exec_start_argv() -> list[str]:
    """ExecStart with the env file substituted as systemd does: ${VAR} whole, $VAR split on spaces."""
    env = _unit("edgecompress.env")
    argv = []
    for word in _unit("edgecompress.service")["ExecStart"].split():
        if word.startswith("${"):
            argv.append(env[word[2:-1]])
        elif word.startswith("$"):
            argv += env[word[1:]].split()
        else:
            argv.append(word)
    return argv


def test_service_runs_a_valid_edgecompress_run_command():
    unit = _unit("edgecompress.service")
    assert unit["Restart"] == "on-failure" and unit["StandardError"] == "journal"
    assert unit["KillSignal"] == "SIGTERM" and unit["WantedBy"] == "multi-user.target"
    argv = _exec_start_argv()
    assert argv[0].endswith("/bin/edgecompress")
    args = build_parser().parse_args(argv[1:])
    assert args.command == "run" and args.source == "/dev/video0" and args.sink == ["mavlink"]
    assert args.camera and args.target_class == "pad" and args.log_every == 30


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_service_passes_systemd_analyze_verify(tmp_path):
    exe = shutil.which("edgecompress")
    assert exe, "the edgecompress console script is not installed"
    text = (DEPLOY / "systemd" / "edgecompress.service").read_text()
    unit = tmp_path / "edgecompress.service"
    unit.write_text(text.replace("/opt/edgecompress/venv/bin/edgecompress", exe))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _node_parameters() -> dict:
    tree = ast.parse((ROS_PKG / "edgecompress_ros" / "node.py").read_text())
    (assign,) = [n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "PARAMETERS"]
    imported = {
        alias.name
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module == "edgecompress.ros.messages"
        for alias in n.names
    }
    assert imported and all(hasattr(messages, name) for name in imported)
    return ast.literal_eval(assign.value)


def test_ros2_package_is_consistent():
    root = ET.parse(ROS_PKG / "package.xml").getroot()
    assert root.get("format") == "3" and root.findtext("name") == "edgecompress_ros"
    assert root.find("export/build_type").text == "ament_python"
    assert {"rclpy", "sensor_msgs", "vision_msgs", "launch_ros"} <= {
        e.text for e in root.findall("exec_depend")
    }
    assert (ROS_PKG / "resource" / "edgecompress_ros").exists()
    params = _node_parameters()
    config = yaml.safe_load((ROS_PKG / "config" / "detector.yaml").read_text())
    assert set(config["edgecompress_detector"]["ros__parameters"]) == set(params)
    launch = ast.parse((ROS_PKG / "launch" / "detector.launch.py").read_text())
    (args,) = [n for n in launch.body if isinstance(n, ast.Assign) and n.targets[0].id == "ARGUMENTS"]
    assert set(ast.literal_eval(args.value)) <= set(params)
    setup = (ROS_PKG / "setup.py").read_text()
    assert '"detector = edgecompress_ros.node:main"' in setup
