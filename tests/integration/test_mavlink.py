"""The MAVLink sink against a real pymavlink peer on 127.0.0.1: messages decode, rates are respected."""

import json
import math
import os
import socket

import numpy as np
import pytest

os.environ.setdefault("MAVLINK20", "1")

import edgecompress
from edgecompress.cli import main
from edgecompress.runtime.postprocess import Detections
from edgecompress.stream.capture import Frame
from edgecompress.stream.sinks.base import FrameResult
from edgecompress.stream.sinks.mavlink import CameraModel, MavlinkSink

CAMERA = CameraModel(width=640, height=480, fx=500, fy=400, cx=320, cy=240)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def peer():
    """A ground-station-side pymavlink connection listening on a loopback UDP port."""
    from pymavlink import mavutil

    port = _free_udp_port()
    conn = mavutil.mavlink_connection(f"udpin:127.0.0.1:{port}", dialect="common")
    yield port, conn
    conn.close()


def _drain(conn, quiet_s: float = 1.0) -> list:
    """Every message until the link has been quiet for ``quiet_s``."""
    received = []
    while (msg := conn.recv_match(blocking=True, timeout=quiet_s)) is not None:
        received.append(msg)
    return received


def _result(index: int, boxes: list, classes: list, scores: list) -> FrameResult:
    dets = Detections(
        np.array(boxes, np.float32).reshape(-1, 4), np.array(scores), np.array(classes), ["a", "b"]
    )
    frame = Frame(
        index, np.zeros((480, 640, 3), np.uint8), 1_700_000_000_000_000_000 + index * 10_000_000, 0.0
    )
    return FrameResult(frame, dets, 0.004, 0.005)


def test_landing_target_and_summary_at_the_configured_rate(peer):
    port, conn = peer
    now = [0.0]
    sink = MavlinkSink(f"udpout:127.0.0.1:{port}", CAMERA, target_class=1, rate_hz=10, clock=lambda: now[0])
    for tick in range(200):  # 2 s of 100 Hz frames on a controlled clock
        now[0] = tick / 100
        if tick >= 5:  # the target (class 1, the better of two) and a class-0 box
            sink.send(
                _result(
                    tick, [[0, 0, 10, 10], [380, 280, 460, 360], [700, 0, 710, 5]], [0, 1, 1], [0.9, 0.8, 0.3]
                )
            )
        else:  # frames 0-4: only another class, so no LANDING_TARGET
            sink.send(_result(tick, [[0, 0, 10, 10]], [0], [0.9]))
    sink.close()
    received = _drain(conn)
    by_type: dict[str, list] = {}
    for msg in received:
        by_type.setdefault(msg.get_type(), []).append(msg)
    assert sink.sent == {"LANDING_TARGET": 20, "DEBUG_VECT": 20, "HEARTBEAT": 2}
    assert {k: len(v) for k, v in by_type.items()} == sink.sent
    targets = by_type["LANDING_TARGET"]
    # the first frame with a target, then one per 0.1 s: frames 5, 15, 25, ...
    assert [t.time_usec for t in targets] == [
        (1_700_000_000_000_000_000 + i * 10_000_000) // 1000 for i in range(5, 200, 10)
    ]
    t = targets[0]
    assert t.angle_x == pytest.approx(math.atan(100 / 500), abs=1e-6)
    assert t.angle_y == pytest.approx(math.atan(80 / 400), abs=1e-6)
    assert t.size_x == pytest.approx(math.atan(140 / 500) - math.atan(60 / 500), abs=1e-6)
    assert t.frame == 12 and t.type == 3  # MAV_FRAME_BODY_FRD, LANDING_TARGET_TYPE_VISION_OTHER
    summaries = by_type["DEBUG_VECT"]
    assert summaries[0].name == "ec_det" and summaries[0].x == 1.0 and summaries[0].y == 0.0  # frame 0
    assert summaries[0].z == pytest.approx(5.0)  # latency ms
    assert summaries[1].x == 3.0 and summaries[1].y == pytest.approx(0.8)  # frame 10 has the target
    assert by_type["HEARTBEAT"][0].get_srcSystem() == 1


def test_cli_run_sends_landing_targets_for_detected_digits(peer, ort_artifact, digits_video, tmp_path):
    import cv2

    port, conn = peer
    detector = edgecompress.load(ort_artifact)
    _, first = cv2.VideoCapture(str(digits_video)).read()
    wanted = detector.predict(first).labels[0]
    cam = tmp_path / "cam.yaml"
    cam.write_text("width: 320\nheight: 320\nfx: 250\nfy: 250\ncx: 160\ncy: 160\n")
    out = tmp_path / "d.jsonl"
    argv = ["run", str(ort_artifact), "--source", str(digits_video), "--every-frame", "--quiet"]
    argv += [
        "--sink",
        "json",
        "--out",
        str(out),
        "--sink",
        "mavlink",
        "--mavlink-url",
        f"udpout:127.0.0.1:{port}",
    ]
    assert main([*argv, "--camera", str(cam), "--target-class", wanted, "--rate", "1000"]) == 0
    records = {r["stamp_ns"] // 1000: r for r in map(json.loads, out.read_text().splitlines())}
    targets = [m for m in _drain(conn) if m.get_type() == "LANDING_TARGET"]
    assert 1 <= len(targets) <= sum(wanted in r["labels"] for r in records.values())
    for t in targets:  # each message is the best box of the wanted class in the frame it is stamped with
        record = records[t.time_usec]
        best = max(
            (s, b)
            for s, b, n in zip(record["scores"], record["boxes"], record["labels"], strict=True)
            if n == wanted
        )[1]
        assert t.angle_x == pytest.approx(math.atan(((best[0] + best[2]) / 2 - 160) / 250), abs=1e-4)
        assert t.angle_y == pytest.approx(math.atan(((best[1] + best[3]) / 2 - 160) / 250), abs=1e-4)
