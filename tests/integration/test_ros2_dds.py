"""`edgecompress run --source ros2:... --sink ros2:...` over DDS on the loopback interface, with a
publisher process and a subscriber process (tests/integration/dds_peer.py) as the rest of the robot.
"""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import edgecompress

PEER = Path(__file__).with_name("dds_peer.py")
LOOPBACK = (
    '<CycloneDDS><Domain><General><Interfaces><NetworkInterface name="lo"/></Interfaces></General>'
    "</Domain></CycloneDDS>"
)
COUNT = 8


@pytest.fixture
def dds_env(tmp_path) -> dict[str, str]:
    """DDS on the loopback interface only, on a domain of this test's own."""
    config = tmp_path / "cyclonedds.xml"
    config.write_text(LOOPBACK)
    domain = random.SystemRandom().randint(1, 232)
    return {**os.environ, "CYCLONEDDS_URI": config.as_uri(), "ROS_DOMAIN_ID": str(domain)}


class Proc:
    """A child process whose stdout and stderr lines are collected as they come."""

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, lines in ((self.popen.stdout, self.out), (self.popen.stderr, self.err)):
            threading.Thread(target=self._collect, args=(stream, lines), daemon=True).start()

    @staticmethod
    def _collect(stream, lines: list[str]) -> None:
        for line in iter(stream.readline, ""):
            lines.append(line.rstrip("\n"))

    def wait_for(self, words: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(words in line for line in self.out + self.err):
            assert self.popen.poll() is None, f"exited before {words!r}: {self.out} {self.err}"
            assert time.monotonic() < deadline, f"no {words!r} within {timeout_s} s: {self.out} {self.err}"
            time.sleep(0.02)

    def finish(self, timeout_s: float = 60) -> int:
        code = self.popen.wait(timeout=timeout_s)
        time.sleep(0.1)  # let the reader threads take the last lines
        return code

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


def run_cmd(artifact: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "edgecompress.cli", "run", str(artifact), "--quiet", *extra]


def peer(*args: str) -> list[str]:
    return [sys.executable, str(PEER), *args]


def camera(video: Path, *args: str) -> list[str]:
    """A peer publishing the frames of ``video`` as sensor_msgs/Image on /camera/image_raw."""
    return peer("publish", str(video), "--topic", "rt/camera/image_raw", *args)


@pytest.mark.timeout(90, func_only=True)
def test_images_in_detections_out_exact_counts(ort_artifact, digits_video, dds_env, tmp_path):
    """8 rgb8 Images published reliably reach `edgecompress run`; its 8 Detection2DArrays reach a subscriber
    with the images' headers and the boxes predict() gives on the same frames."""
    received, frames_out = tmp_path / "received.jsonl", tmp_path / "frames.jsonl"
    procs = []
    try:
        subscriber = Proc(
            peer("subscribe", "--topic", "rt/detections", "--count", str(COUNT), "--out", str(received)),
            dds_env,
        )
        procs.append(subscriber)
        runner = Proc(
            run_cmd(
                ort_artifact,
                "--source", "ros2:/camera/image_raw",
                "--source-reliability", "reliable",
                "--source-depth", "64",
                "--every-frame",
                "--max-frames", str(COUNT),
                "--sink", "ros2:/detections",
                "--sink", "json",
                "--out", str(frames_out),
            ),
            dds_env,
        )  # fmt: skip
        procs.append(runner)
        runner.wait_for("ros2: /detections: 1 subscriber matched")  # nothing published before it is matched
        publisher = Proc(
            camera(digits_video, "--count", str(COUNT), "--encoding", "rgb8"),
            dds_env,
        )
        procs.append(publisher)
        assert runner.finish() == 0, runner.err
        assert subscriber.finish() == 0, subscriber.err
        assert publisher.finish() == 0, publisher.err
    finally:
        for proc in procs:
            proc.kill()
    assert f"published {COUNT}" in publisher.out
    assert any(f"captured {COUNT}, processed {COUNT}, dropped 0" in line for line in runner.err), runner.err
    assert f"received {COUNT}" in subscriber.out
    records = [json.loads(line) for line in received.read_text().splitlines()]
    t0, step = 1_700_000_000_000_000_000, 33_333_333
    assert [r["stamp_ns"] for r in records] == [t0 + i * step for i in range(COUNT)]
    assert {r["frame_id"] for r in records} == {"cam_optical"}
    # the JSON sink saw the same frames, stamped with the image headers
    assert [json.loads(line)["stamp_ns"] for line in frames_out.read_text().splitlines()] == [
        r["stamp_ns"] for r in records
    ]
    detector = edgecompress.load(ort_artifact)
    cap = cv2.VideoCapture(str(digits_video))
    for record in records:
        expected = detector.predict(cap.read()[1])
        assert len(expected) > 0
        assert record["labels"] == expected.labels
        np.testing.assert_allclose(record["boxes"], expected.boxes, atol=0.01)
        np.testing.assert_allclose(record["scores"], expected.scores, atol=1e-6)


@pytest.mark.timeout(30)
def test_compressed_images_keep_their_headers_in_process(dds_env, monkeypatch):
    """A /compressed topic is read as CompressedImage; frames decode as the JPEGs and keep their headers."""
    from edgecompress.ros import idl
    from edgecompress.ros.dds import open_endpoint
    from edgecompress.ros.dds_source import Ros2ImageSource
    from edgecompress.ros.qos import QosSpec

    monkeypatch.setenv("CYCLONEDDS_URI", dds_env["CYCLONEDDS_URI"])
    domain, quiet = int(dds_env["ROS_DOMAIN_ID"]), [].append
    source = Ros2ImageSource("/camera/image_raw/compressed", None, QosSpec(True, 8), domain, quiet)
    writer = open_endpoint(
        "/camera/image_raw/compressed", source.msgtype, QosSpec(True, 8), domain, True, quiet
    )
    assert source.msgtype == "sensor_msgs/msg/CompressedImage"
    rng = np.random.default_rng(1)
    jpegs = [cv2.imencode(".jpg", rng.integers(0, 256, (24, 40, 3), dtype=np.uint8))[1] for _ in range(3)]
    deadline = time.monotonic() + 10
    while writer.events.matched < 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    for i, jpeg in enumerate(jpegs):
        header = idl.Header(stamp=idl.Time(sec=10 + i, nanosec=i), frame_id=f"cam{i}")
        writer.entity.write(idl.CompressedImage(header=header, format="jpeg", data=jpeg.tobytes()))
    stop = threading.Event()
    source.watch(stop)
    frames = []
    for item in source.frames():
        frames.append(item)
        if len(frames) == len(jpegs):
            stop.set()
    source.close()
    writer.close()
    assert [(f.stamp_ns, f.frame_id) for f in frames] == [
        (10_000_000_000 + 1_000_000_001 * i, f"cam{i}") for i in range(3)
    ]
    for frame, jpeg in zip(frames, jpegs, strict=True):
        np.testing.assert_array_equal(frame.image, cv2.imdecode(jpeg, cv2.IMREAD_COLOR))


@pytest.mark.timeout(60, func_only=True)
def test_reliable_subscriber_to_best_effort_publisher_gets_nothing_and_says_why(
    ort_artifact, digits_video, dds_env
):
    procs = []
    try:
        runner = Proc(
            run_cmd(ort_artifact, "--source", "ros2:/camera/image_raw", "--source-reliability", "reliable"),
            dds_env,
        )
        procs.append(runner)
        publisher = Proc(
            camera(digits_video, "--forever", "--best-effort"),
            dds_env,
        )
        procs.append(publisher)
        publisher.wait_for("publishing")
        runner.wait_for(
            "ros2: reading ros2:/camera/image_raw", timeout_s=30
        )  # in the run loop: SIGTERM is clean
        runner.wait_for("incompatible QoS", timeout_s=30)
        time.sleep(0.5)  # frames keep coming at 20 Hz; none may get through
        runner.popen.send_signal(signal.SIGTERM)
        assert runner.finish() == 0, runner.err
    finally:
        for proc in procs:
            proc.kill()
    warning = next(line for line in runner.err if "incompatible QoS" in line)
    assert warning.startswith("warning: ros2: /camera/image_raw: ")
    assert "(reliability)" in warning and "--source-reliability best_effort" in warning
    assert any("summary: stopped by SIGTERM; captured 0, processed 0, dropped 0" in e for e in runner.err)
    assert runner.out == []  # no detections on the JSON sink


@pytest.mark.timeout(60, func_only=True)
@pytest.mark.parametrize(
    ("publisher_args", "words"),
    [
        (["--type", "imu"], "error: topic /camera/image_raw carries sensor_msgs/msg/Imu"),
        (["--encoding", "bayer_rggb8"], "error: unsupported image encoding 'bayer_rggb8'"),
    ],
    ids=["wrong-message-type", "unsupported-encoding"],
)
def test_bad_stream_is_one_error_line_and_exit_2(ort_artifact, digits_video, dds_env, publisher_args, words):
    procs = []
    try:
        runner = Proc(run_cmd(ort_artifact, "--source", "ros2:/camera/image_raw"), dds_env)
        procs.append(runner)
        publisher = Proc(
            camera(digits_video, "--forever", *publisher_args),
            dds_env,
        )
        procs.append(publisher)
        publisher.wait_for("publishing")
        assert runner.finish(timeout_s=30) == 2, runner.err
    finally:
        for proc in procs:
            proc.kill()
    errors = [line for line in runner.err if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(words), runner.err
