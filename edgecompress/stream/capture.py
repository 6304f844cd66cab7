"""Frame sources (video file, RTSP/HTTP URL, V4L2 device, image folder) and the latest-frame-wins slot."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgecompress.errors import InputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
URL_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "udp://", "tcp://")
OPEN_TIMEOUT_MS = 5000


@dataclass
class Frame:
    """One captured frame: its index in the source, the BGR image and when it was captured."""

    index: int
    image: np.ndarray
    stamp_ns: int  # wall clock (time.time_ns) at capture, or the source's own stamp: what sinks publish
    captured_at: float  # time.perf_counter() at capture: the start of the end-to-end latency
    frame_id: str = ""  # the source's frame id (a ROS header's); sinks fall back to their own


@dataclass
class StampedImage:
    """What a source yields when it stamps its own images (a ROS 2 topic: the message header)."""

    image: np.ndarray
    stamp_ns: int
    frame_id: str = ""


RECONNECTS = 2  # a live source that stops delivering is reopened this many times before it counts as lost


class FrameSource:
    """Something that yields BGR frames; ``open_source`` picks the right one for a source string.

    ``live`` sources (cameras, streams) run latest-frame-wins by default; files and folders process
    every frame. ``lost`` says why a live source stopped delivering (None when it ended normally).
    """

    description = "source"
    live = False
    lost: str | None = None

    def frames(self) -> Iterator[np.ndarray | StampedImage]:
        """Yield BGR uint8 images (or stamped ones) until the source ends."""
        raise NotImplementedError

    def watch(self, stop: threading.Event) -> None:
        """Hand over the run's stop event, so a source that waits for data can end its wait early."""

    def close(self) -> None:
        """Release the device or file."""


class VideoSource(FrameSource):
    """A video file, stream URL or camera device read through OpenCV's VideoCapture."""

    def __init__(self, spec: str) -> None:

        self.description = spec
        self.live = spec.startswith(URL_SCHEMES) or spec.isdigit() or spec.startswith("/dev/")
        self._cap, first = self._open(spec)
        if first is None:
            raise InputError(
                f"cannot read frames from source {spec}",
                "check the path, URL or device and that OpenCV's FFmpeg/V4L2 can decode it",
            )
        self._first: np.ndarray | None = first
        self.reconnects = 0

    @staticmethod
    def _open(spec: str) -> tuple[object, np.ndarray | None]:
        """A VideoCapture with open/read timeouts and its first frame (None if it gave none)."""
        import cv2

        target: str | int = int(spec) if spec.isdigit() else spec
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            OPEN_TIMEOUT_MS,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            OPEN_TIMEOUT_MS,
        ]
        cap = cv2.VideoCapture(target, cv2.CAP_ANY, params)
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok or first is None:
            cap.release()
            return cap, None
        return cap, first

    def _reconnect(self) -> np.ndarray | None:
        """Reopen a live source that stopped delivering; its first frame, or None once it is lost."""
        for _ in range(RECONNECTS):
            self._cap.release()
            self.reconnects += 1
            self._cap, first = self._open(self.description)
            if first is not None:
                return first
        self.lost = (
            f"no frame from {self.description} within {OPEN_TIMEOUT_MS / 1000:.0f} s, "
            f"and {RECONNECTS} reconnects failed"
        )
        return None

    def frames(self) -> Iterator[np.ndarray]:
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        while True:
            ok, image = self._cap.read()
            if not ok or image is None:
                if not self.live:
                    return  # the end of a file
                image = self._reconnect()
                if image is None:
                    return
            yield image

    def close(self) -> None:
        self._cap.release()


class ImageFolderSource(FrameSource):
    """The images of a folder in name order; unreadable files are skipped and counted."""

    def __init__(self, folder: Path) -> None:
        self.description = str(folder)
        self.paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise InputError(f"no images in {folder}", f"put {'/'.join(sorted(IMAGE_SUFFIXES))} files there")
        self.unreadable = 0

    def frames(self) -> Iterator[np.ndarray]:
        import cv2

        for path in self.paths:
            image = cv2.imread(str(path))
            if image is None:
                self.unreadable += 1
                continue
            yield image


def open_source(spec: str) -> FrameSource:
    """Open ``spec``: an image folder, a video file, a URL (rtsp://...), /dev/videoN or a camera index."""
    if spec.startswith(URL_SCHEMES) or spec.isdigit():
        return VideoSource(spec)
    path = Path(spec)
    if not path.exists():
        raise InputError(
            f"source {spec} not found", "pass a video file, image folder, /dev/videoN or rtsp:// URL"
        )
    if path.is_dir():
        return ImageFolderSource(path)
    return VideoSource(spec)


class LatestFrameSlot:
    """A one-frame hand-off between capture and inference.

    With ``drop=True`` a new frame replaces one that inference has not taken yet (latest frame wins; the
    replaced frame is counted in ``dropped``). With ``drop=False`` capture waits for inference instead,
    so every frame is processed (offline files). Memory is one frame whatever the rates are.
    """

    def __init__(self, drop: bool = True) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._closed = False
        self.drop = drop
        self.put_count = 0
        self.dropped = 0

    def put(self, frame: Frame, stop: threading.Event) -> None:
        """Offer a frame (replacing the waiting one, or waiting for room when not dropping)."""
        with self._cond:
            while not self.drop and self._frame is not None and not stop.is_set():
                self._cond.wait(0.05)
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self.put_count += 1
            self._cond.notify_all()

    def get(self, stop: threading.Event) -> Frame | None:
        """The newest frame, waiting for one; None once the source has ended (or on stop)."""
        with self._cond:
            while self._frame is None and not self._closed and not stop.is_set():
                self._cond.wait(0.05)
            frame, self._frame = self._frame, None
            self._cond.notify_all()
            return frame

    def close(self) -> None:
        """Mark the end of the source: ``get`` returns what is left, then None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def discard(self) -> None:
        """Count a frame still waiting at shutdown as dropped, so captured = processed + dropped."""
        with self._cond:
            if self._frame is not None:
                self._frame = None
                self.dropped += 1


def _frame(index: int, item: np.ndarray | StampedImage) -> Frame:
    """A Frame stamped now (or with the source's stamp) for an image from ``FrameSource.frames``."""
    if isinstance(item, StampedImage):
        return Frame(index, item.image, item.stamp_ns, time.perf_counter(), item.frame_id)
    return Frame(index, item, time.time_ns(), time.perf_counter())


class CaptureThread(threading.Thread):
    """Reads the source into the slot, stamping each frame; stops at the end of the source or on ``stop``."""

    def __init__(
        self, source: FrameSource, slot: LatestFrameSlot, stop: threading.Event, max_frames: int | None = None
    ) -> None:
        super().__init__(name="edgecompress-capture", daemon=True)
        self.source, self.slot, self.stop, self.max_frames = source, slot, stop, max_frames
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.source.watch(self.stop)
            for index, item in enumerate(self.source.frames()):
                if self.stop.is_set():
                    break
                self.slot.put(_frame(index, item), self.stop)
                if self.max_frames is not None and index + 1 >= self.max_frames:
                    break  # now, not after waiting for one more frame from a live source
        except BaseException as exc:  # reported by the runner on the main thread
            self.error = exc
        finally:
            self.source.close()
            self.slot.close()
