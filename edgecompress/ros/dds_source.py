"""``--source ros2:/camera/image_raw``: camera frames from a live ROS 2 topic over DDS (no ROS install).

Reads sensor_msgs/Image (the encodings ``edgecompress bag`` reads) or CompressedImage with Cyclone
DDS and yields each as a BGR image stamped with its message header, which the sinks pass on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from edgecompress.errors import InputError
from edgecompress.ros import messages as m
from edgecompress.ros.dds import Notify, TopicTypeWatch, ros_type_name, stderr_notify
from edgecompress.ros.qos import SENSOR_DATA, QosSpec
from edgecompress.stream.capture import FrameSource, StampedImage

POLL_S = 0.1  # how often an idle source checks for stop, peers of another type

_ALIASES = {
    "image": m.IMAGE,
    "sensor_msgs/Image": m.IMAGE,
    "compressedimage": m.COMPRESSED,
    "compressed": m.COMPRESSED,
    "sensor_msgs/CompressedImage": m.COMPRESSED,
}


def image_msgtype(topic: str, given: str | None = None) -> str:
    """The image message type to read: ``given`` (full or short name), else by image_transport's naming:
    a topic ending in ``/compressed`` carries CompressedImage, any other Image.
    """
    if given is None:
        return m.COMPRESSED if topic.rstrip("/").endswith("/compressed") else m.IMAGE
    msgtype = _ALIASES.get(given, _ALIASES.get(given.lower(), given))
    if msgtype not in m.IMAGE_TYPES:
        raise InputError(
            f"unknown message type {given!r} for a ROS 2 image source",
            f"use {' or '.join(m.IMAGE_TYPES)}",
        )
    return msgtype


class Ros2ImageSource(FrameSource):
    """Frames from a ROS 2 image topic; live (latest frame wins by default), ends only when stopped."""

    live = True

    def __init__(
        self,
        topic: str,
        msgtype: str | None = None,
        qos: QosSpec = SENSOR_DATA,
        domain: int = 0,
        notify: Notify = stderr_notify,
    ) -> None:
        from edgecompress.ros.dds import open_endpoint
        from edgecompress.ros.idl import dds_type_name

        self.msgtype, self.notify = image_msgtype(topic, msgtype), notify
        self.endpoint = open_endpoint(
            topic, self.msgtype, qos, domain, writer=False, notify=notify, hint_flag="--source-reliability"
        )
        self.description = f"ros2:{self.endpoint.topic} ({self.msgtype}, {qos.words()}, domain {domain})"
        self.types: TopicTypeWatch | None = TopicTypeWatch(
            self.endpoint.participant, "rt" + self.endpoint.topic, dds_type_name(self.msgtype)
        )
        self._waitset, self._stop = self._make_waitset(), threading.Event()

    def _make_waitset(self) -> Any:
        from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState, WaitSet

        waitset = WaitSet(self.endpoint.participant)
        every = SampleState.Any | ViewState.Any | InstanceState.Any
        waitset.attach(ReadCondition(self.endpoint.entity, every))
        return waitset

    def watch(self, stop: threading.Event) -> None:
        self._stop = stop

    def frames(self) -> Iterator[StampedImage]:
        from cyclonedds.util import duration

        reader = self.endpoint.entity
        self.notify(f"ros2: reading {self.description}")  # the run has started: stop signals are handled
        while not self._stop.is_set():
            samples = reader.take(N=1)  # one at a time: the DDS history, not Python, holds the backlog
            if not samples:
                self._check_types()
                self._waitset.wait(duration(seconds=POLL_S))
                continue
            sample = samples[0]
            if not sample.sample_info.valid_data:  # a publisher went away (unregister), no image
                continue
            stamp = sample.header.stamp
            yield StampedImage(
                m.image_from_msg(sample, self.msgtype),
                int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec),
                sample.header.frame_id,
            )

    def _check_types(self) -> None:
        """Raise an InputError once a publisher on the topic turns out to carry another message type."""
        other = self.types.other_type() if self.types is not None else None
        if other is None:
            return
        carried = ros_type_name(other)
        hint = f"pick a topic of type {' or '.join(m.IMAGE_TYPES)}"
        if carried in m.IMAGE_TYPES:
            hint = f"pass --ros-type {carried}"
        raise InputError(f"topic {self.endpoint.topic} carries {carried}, not {self.msgtype}", hint)

    def close(self) -> None:
        self._waitset = self.types = None  # the last references to the participant's entities
        self.endpoint.close()
