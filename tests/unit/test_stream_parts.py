"""The stream runner's parts: the latest-frame-wins slot, the latency histogram, sources, the rate limiter."""

import threading

import numpy as np
import pytest

from edgecompress.errors import InputError
from edgecompress.stream.capture import Frame, LatestFrameSlot, open_source
from edgecompress.stream.sinks.mavlink import RateLimiter
from edgecompress.stream.stats import LatencyHistogram


def _frame(i: int) -> Frame:
    return Frame(i, np.zeros((2, 2, 3), np.uint8), i, float(i))


def test_slot_keeps_the_newest_frame_and_counts_the_replaced_ones():
    slot, stop = LatestFrameSlot(drop=True), threading.Event()
    for i in range(5):
        slot.put(_frame(i), stop)
    assert slot.get(stop).index == 4
    assert (slot.put_count, slot.dropped) == (5, 4)
    slot.put(_frame(5), stop)
    slot.close()
    assert slot.get(stop).index == 5  # what is left comes out after close, then the end
    assert slot.get(stop) is None


def test_slot_without_dropping_makes_capture_wait():
    slot, stop = LatestFrameSlot(drop=False), threading.Event()
    slot.put(_frame(0), stop)
    second = threading.Thread(target=slot.put, args=(_frame(1), stop))
    second.start()
    second.join(0.2)
    assert second.is_alive()  # blocked until inference takes frame 0
    assert slot.get(stop).index == 0
    second.join(5)
    assert slot.get(stop).index == 1 and slot.dropped == 0


def test_slot_discard_counts_a_frame_left_at_shutdown():
    slot, stop = LatestFrameSlot(), threading.Event()
    slot.put(_frame(0), stop)
    slot.discard()
    assert slot.dropped == 1 and slot.put_count == 1


def test_histogram_percentiles_match_numpy_within_a_percent():
    rng = np.random.default_rng(0)
    values = rng.lognormal(mean=np.log(0.02), sigma=0.6, size=5000)
    hist = LatencyHistogram()
    for v in values:
        hist.add(float(v))
    for q in (50, 95):
        exact = np.percentile(values, q, method="inverted_cdf")
        assert hist.percentile(q) == pytest.approx(exact, rel=0.01)
    assert np.isnan(LatencyHistogram().percentile(50))


def test_rate_limiter_counts_over_a_controlled_clock():
    now = [0.0]
    limiter = RateLimiter(10.0, lambda: now[0])
    passed = 0
    for tick in range(200):  # 2 s of 100 Hz frames
        now[0] = tick / 100
        passed += limiter.ready()
    assert passed == 20


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("missing.mp4", "not found"),
        ("/dev/video99", "not found"),
        ("notavideo.mp4", "cannot read frames"),
        ("empty", "no images"),
        ("rtsp://127.0.0.1:9/cam", "cannot read frames"),
    ],
)
def test_bad_sources_are_input_errors(tmp_path, monkeypatch, spec, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notavideo.mp4").write_text("hello")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=words):
        open_source(spec)


def test_cli_parser_with_run_and_bag_loads_no_stream_dependency():
    import subprocess
    import sys

    probe = (
        "import sys\nfrom edgecompress.cli import build_parser\nbuild_parser()\n"
        "print([m for m in ('numpy', 'cv2', 'rosbags', 'pymavlink') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


class _StallingCapture:
    """A stand-in for cv2.VideoCapture: a stream that sends ``frames`` frames, then nothing.

    Reopening succeeds ``reopen_ok`` times (each reopened stream sends one more frame).
    """

    opened = 0

    def __init__(self, frames: int, reopen_ok: int) -> None:
        self.left = (
            frames if _StallingCapture.opened == 0 else (1 if _StallingCapture.opened <= reopen_ok else 0)
        )
        _StallingCapture.opened += 1

    def isOpened(self) -> bool:
        return True

    def read(self):
        if self.left <= 0:
            return False, None  # what OpenCV returns when the read timeout passes
        self.left -= 1
        return True, np.zeros((4, 4, 3), np.uint8)

    def release(self) -> None:
        pass


@pytest.mark.parametrize(("reopen_ok", "expected"), [(0, 3), (1, 4)])
def test_a_live_stream_that_stalls_is_reconnected_then_reported_lost(monkeypatch, reopen_ok, expected):
    import cv2

    from edgecompress.stream import capture

    _StallingCapture.opened = 0
    monkeypatch.setattr(cv2, "VideoCapture", lambda *a, **k: _StallingCapture(3, reopen_ok))
    source = capture.open_source("http://127.0.0.1:9/stream.mjpg")
    assert source.live
    assert len(list(source.frames())) == expected
    assert source.reconnects == capture.RECONNECTS + reopen_ok  # the successful reopen, then the failed ones
    assert source.lost and "reconnects failed" in source.lost


def test_a_file_that_ends_is_not_lost(monkeypatch, tmp_path):
    import cv2

    from edgecompress.stream import capture

    video = tmp_path / "clip.mp4"
    video.write_bytes(b"x")
    _StallingCapture.opened = 0
    monkeypatch.setattr(cv2, "VideoCapture", lambda *a, **k: _StallingCapture(3, 5))
    source = capture.open_source(str(video))
    assert not source.live
    assert len(list(source.frames())) == 3 and source.lost is None and source.reconnects == 0
