"""Run a detector over the images of a ROS 2 bag and write Detection2DArray messages into a new bag."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgecompress.errors import InputError
from edgecompress.ros import messages as m
from edgecompress.runtime.postprocess import Detections
from edgecompress.stream.sinks.base import FrameResult, Sink

STORAGES = ("mcap", "sqlite3")


class BagOutput:
    """A rosbag2 writer that is never left half-written: ``OUT.mcap`` (one file) or a bag folder.

    Writes into ``<out>.partial-<pid>/`` and moves the result into place on ``close``; ``abort``
    removes it.
    """

    def __init__(self, out: str | Path, storage: str = "mcap") -> None:
        from rosbags.rosbag2 import StoragePlugin, Writer

        self.out = Path(out)
        self.single_file = self.out.suffix in (".mcap", ".db3")
        if self.single_file:
            storage = "mcap" if self.out.suffix == ".mcap" else "sqlite3"
        if storage not in STORAGES:
            raise InputError(f"unknown bag storage {storage!r}", f"use one of: {', '.join(STORAGES)}")
        if self.out.exists():
            raise InputError(f"{self.out} already exists", "pass a new output path")
        if not self.out.parent.is_dir():
            raise InputError(f"folder {self.out.parent} does not exist", "create it or pick another --out")
        self.partial = self.out.parent / f"{self.out.name}.partial-{os.getpid()}"
        shutil.rmtree(self.partial, ignore_errors=True)
        plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
        self.writer = Writer(self.partial, version=8, storage_plugin=plugin)
        self.writer.open()
        self._connections: dict[str, Any] = {}

    def write(self, topic: str, msgtype: str, timestamp_ns: int, data: bytes) -> None:
        """Append one serialized message (the connection is added on first use)."""
        if topic not in self._connections:
            self._connections[topic] = self.writer.add_connection(topic, msgtype, typestore=m.typestore())
        self.writer.write(self._connections[topic], timestamp_ns, data)

    def close(self) -> Path:
        """Finish the bag and move it to ``out``."""
        self.writer.close()
        if self.single_file:
            (storage_file,) = [p for p in self.partial.iterdir() if p.suffix in (".mcap", ".db3")]
            storage_file.rename(self.out)
            shutil.rmtree(self.partial)
        else:
            self.partial.rename(self.out)
        return self.out

    def abort(self) -> None:
        """Drop the partial output."""
        try:
            self.writer.close()
        finally:
            shutil.rmtree(self.partial, ignore_errors=True)


@dataclass
class BagRunResult:
    """What ``detect_bag`` did."""

    out: Path
    images: int
    detections: int
    msgtype: str


def _open_reader(path: Path) -> Any:
    from rosbags.rosbag2 import Reader

    if not path.exists():
        raise InputError(f"bag {path} not found", "pass a .mcap/.db3 file or a rosbag2 folder")
    try:
        reader = Reader(path)
        reader.open()
    except Exception as exc:  # ReaderError, mcap/sqlite parse errors on corrupt files
        raise InputError(
            f"cannot read bag {path}: {exc}", "pass an intact rosbag2 bag (mcap or sqlite3)"
        ) from exc
    return reader


def detect_bag(
    detect: Callable[[np.ndarray], Detections],
    bag_in: str | Path,
    bag_out: str | Path,
    topic: str,
    out_topic: str = "/edgecompress/detections",
    annotated_topic: str | None = None,
    keep_images: bool = False,
    storage: str = "mcap",
) -> BagRunResult:
    """Detect on every ``topic`` message in ``bag_in``; write Detection2DArray (same header and bag time)."""
    reader = _open_reader(Path(bag_in))
    try:
        connections = [c for c in reader.connections if c.topic == topic]
        if not connections:
            topics = ", ".join(sorted({c.topic for c in reader.connections})) or "none"
            raise InputError(f"topic {topic} is not in {bag_in}", f"topics there: {topics}")
        msgtype = connections[0].msgtype
        m.check_image_type(topic, msgtype)
        output = BagOutput(bag_out, storage)
        images = boxes = 0
        try:
            for connection, timestamp, raw in _messages(reader, connections, bag_in):
                det, annotated = m.process_image_cdr(
                    raw, msgtype, detect, annotate=annotated_topic is not None
                )
                output.write(out_topic, m.DETECTIONS, timestamp, det)
                if annotated is not None and annotated_topic:
                    output.write(annotated_topic, m.IMAGE, timestamp, annotated)
                if keep_images:
                    output.write(topic, connection.msgtype, timestamp, bytes(raw))
                images += 1
                boxes += len(m.decode(det, m.DETECTIONS).detections)
        except BaseException:
            output.abort()
            raise
        return BagRunResult(output.close(), images, boxes, msgtype)
    finally:
        reader.close()


def _messages(reader: Any, connections: list, bag_in: str | Path) -> Any:
    """Iterate messages, turning storage-level corruption into an InputError."""
    iterator = reader.messages(connections=connections)
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"cannot read bag {bag_in}: {exc}", "the bag is corrupt or truncated") from exc
        yield item


class BagSink(Sink):
    """``--sink ros2bag``: the stream's detections as Detection2DArray messages in a new bag."""

    name = "ros2bag"

    def __init__(self, out: str | Path, topic: str, frame_id: str, storage: str = "mcap") -> None:
        self.output = BagOutput(out, storage)
        self.topic, self.frame_id = topic, frame_id
        self.written = 0

    def send(self, result: FrameResult) -> None:
        hdr = m.header(result.frame.stamp_ns, result.frame.frame_id or self.frame_id)
        data = m.encode(m.detections_to_msg(result.detections, hdr), m.DETECTIONS)
        self.output.write(self.topic, m.DETECTIONS, result.frame.stamp_ns, data)
        self.written += 1

    def close(self) -> None:
        self.output.close()
