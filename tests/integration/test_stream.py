"""`edgecompress run` end to end: exact frame accounting, flat memory, real detections, clean shutdown."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import edgecompress
from edgecompress.cli import main
from edgecompress.runtime.postprocess import postprocess
from edgecompress.runtime.preprocess import preprocess
from edgecompress.stream.capture import open_source
from edgecompress.stream.runner import run_stream
from edgecompress.stream.sinks.base import Sink
from edgecompress.stream.sinks.json_sink import JsonSink

N_FRAMES = 10_000


@pytest.fixture(scope="module")
def long_video(tmp_path_factory) -> Path:
    """10 000 frames of 64x48 MJPG; frame i has brightness i % 251 and its number drawn on it."""
    import cv2

    path = tmp_path_factory.mktemp("video") / "long.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    image = np.zeros((48, 64, 3), np.uint8)
    for i in range(N_FRAMES):
        image[:] = i % 251
        cv2.putText(image, str(i % 100), (5, 40), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
        writer.write(image)
    writer.release()
    return path


def fast_infer(image: np.ndarray):
    """The real letterbox and postprocess around a stand-in head: one box whose score is the brightness."""
    batch, infos = preprocess([image], 64)
    raw = np.zeros((1, 6, 4), np.float32)
    raw[0, :4, 0] = (32, 32, 20, 10)
    raw[0, 4, 0] = batch.mean()
    return postprocess(raw, infos, ["bright", "dark"], conf=0.01)[0]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class RssSampler(threading.Thread):
    """Samples this process' RSS every 10 ms while the run lasts."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.samples.append((time.perf_counter(), _rss_mb()))
            time.sleep(0.01)


@pytest.mark.parametrize("drop", [True, False], ids=["latest-frame-wins", "every-frame"])
def test_ten_thousand_frames_flat_rss_and_exact_accounting(long_video, ort_artifact, tmp_path, drop):
    """The compiled demo detector (ONNX Runtime) on 10 000 frames; every-frame runs the model on all."""
    import edgecompress

    detector = edgecompress.load(ort_artifact)
    detector.predict(np.zeros((48, 64, 3), np.uint8))  # runtime warm-up outside the measured run
    out = tmp_path / "frames.jsonl"
    sampler = RssSampler()
    sampler.start()
    result = run_stream(open_source(str(long_video)), detector.predict, [JsonSink(out)], drop=drop)
    sampler.done.set()
    sampler.join()
    records = [json.loads(line) for line in out.read_text().splitlines()]
    indices = [r["frame"] for r in records]
    # every captured frame was either processed (and reached the sink) or counted as dropped
    assert result.captured == N_FRAMES
    assert result.processed + result.dropped == N_FRAMES
    assert drop or result.processed == N_FRAMES
    assert len(records) == result.processed == result.summary["processed"]
    assert indices == sorted(set(indices)) and indices[-1] == N_FRAMES - 1  # in order, none twice, last kept
    assert all(r["stamp_ns"] > 0 and r["latency_ms"] >= r["infer_ms"] >= 0 for r in records)
    # flat memory: after the first fifth of the run, RSS moves by less than 4 MB (one frame is 9 kB,
    # so keeping every frame would add ~90 MB)
    start, end = sampler.samples[0][0], sampler.samples[-1][0]
    steady = [rss for t, rss in sampler.samples if t >= start + (end - start) / 5]
    assert len(steady) >= 5
    growth = max(steady) - min(steady)
    print(f"\nstream 10k: {result.summary}; RSS {min(steady):.1f}-{max(steady):.1f} MB (+{growth:.2f} MB)")
    assert growth < 4.0


def test_slow_inference_drops_all_but_the_newest_frame(long_video):
    first_taken, capture_done = threading.Event(), threading.Event()

    class Gate(Sink):
        """Holds frame 0 in the loop until capture has read the whole 300-frame source."""

        def __init__(self) -> None:
            self.seen: list[int] = []

        def send(self, result) -> None:
            self.seen.append(result.frame.index)
            if len(self.seen) == 1:
                first_taken.set()
                assert capture_done.wait(30)

    source = open_source(str(long_video))
    frames = source.frames

    def gated_frames():
        for i, image in enumerate(frames()):
            if i == 300:
                break
            yield image
            if i == 0:  # frame 0 is in the slot: let inference take it before reading on
                assert first_taken.wait(30)
        capture_done.set()

    source.frames = gated_frames  # type: ignore[method-assign]
    gate = Gate()
    result = run_stream(source, fast_infer, [gate], drop=True)
    # frames 1..298 were each replaced by the next while frame 0 was processed; 299 was kept
    assert gate.seen == [0, 299]
    assert (result.captured, result.processed, result.dropped) == (300, 2, 298)


def test_cli_processes_every_frame_of_a_file_and_matches_predict(
    ort_artifact, digits_video, tmp_path, capsys
):
    """A file is processed frame by frame without --every-frame (latest-frame-wins is for live sources)."""
    import cv2

    out, summary = tmp_path / "d.jsonl", tmp_path / "summary.json"
    argv = ["run", str(ort_artifact), "--source", str(digits_video), "--quiet"]
    assert main([*argv, "--out", str(out), "--summary", str(summary)]) == 0
    assert "captured 32, processed 32, dropped 0" in capsys.readouterr().err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(32))
    detector = edgecompress.load(ort_artifact)
    cap = cv2.VideoCapture(str(digits_video))
    for record in records:
        _, frame = cap.read()
        expected = detector.predict(frame)
        assert len(expected) > 0
        assert record["labels"] == expected.labels
        np.testing.assert_allclose(record["boxes"], expected.boxes, atol=0.01)
    stats = json.loads(summary.read_text())
    assert stats["processed"] == 32 and stats["e2e_p95_ms"] >= stats["e2e_p50_ms"] > 0 and stats["fps"] > 0
    assert stats["ended"] == "source ended" and stats["source_lost"] is None


def test_sigterm_stops_cleanly_with_a_summary(ort_artifact, long_video, tmp_path):
    out, summary = tmp_path / "d.jsonl", tmp_path / "summary.json"
    cmd = [sys.executable, "-m", "edgecompress.cli", "run", str(ort_artifact), "--source", str(long_video)]
    cmd += ["--every-frame", "--out", str(out), "--summary", str(summary), "--log-every", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    err_lines: list[str] = []
    reader = threading.Thread(target=lambda: err_lines.extend(iter(proc.stderr.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    # stderr is a pipe, so status goes out as plain lines (as under journald); wait for the first one
    while not any(line.startswith("status: frames ") for line in err_lines):
        assert proc.poll() is None and time.monotonic() < deadline, err_lines
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, err_lines
    reader.join(10)
    stats = json.loads(summary.read_text())
    lines = out.read_text().splitlines()
    assert stats["stopped_by"] == "SIGTERM" and any("summary: stopped by SIGTERM" in e for e in err_lines)
    assert stats["processed"] == len(lines) > 0 and stats["captured"] == stats["processed"] + stats["dropped"]
    assert stats["captured"] < N_FRAMES
    json.loads(lines[-1])  # the last line was written whole


@pytest.mark.parametrize(
    ("source", "extra", "words"),
    [
        ("missing.mp4", [], "source missing.mp4 not found"),
        ("rtsp://127.0.0.1:9/cam", [], "cannot read frames from source rtsp://"),
        ("video", ["--sink", "mavlink"], "needs --camera and --target-class"),
        (
            "video",
            ["--sink", "mavlink", "--camera", "cam.yaml", "--target-class", "7"],
            "camera file cam.yaml",
        ),
        ("video", ["--sink", "mavlink", "--camera", "ok.yaml", "--target-class", "cat"], "class 'cat'"),
        ("video", ["--sink", "ros2bag"], "--sink ros2bag needs --out"),
    ],
)
def test_bad_run_input_is_one_line_and_exit_2(
    ort_artifact, digits_video, tmp_path, monkeypatch, capsys, source, extra, words
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cam.yaml").write_text("width: 640\nheight: 480\nfx: -1\nfy: 500\ncx: 320\ncy: 240\n")
    (tmp_path / "ok.yaml").write_text("width: 640\nheight: 480\nfx: 500\nfy: 500\ncx: 320\ncy: 240\n")
    source = str(digits_video) if source == "video" else source
    assert main(["run", str(ort_artifact), "--source", source, "--quiet", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and words in err[0], err
