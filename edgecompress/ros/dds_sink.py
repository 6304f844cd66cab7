"""``--sink ros2:/detections``: vision_msgs/Detection2DArray published live on a ROS 2 topic over DDS.

Each message carries the input frame's header: the image header for a ``ros2:`` source (stamp and
frame_id, so downstream nodes can match detections to images), else the capture time and
``--frame-id``.
"""

from __future__ import annotations

from edgecompress.ros import messages as m
from edgecompress.ros.dds import Notify, stderr_notify
from edgecompress.ros.qos import DEFAULT, QosSpec
from edgecompress.stream.sinks.base import FrameResult, Sink


class Ros2DetectionSink(Sink):
    """Publishes one Detection2DArray per processed frame; a failed write is counted and reported once."""

    name = "ros2"

    def __init__(
        self,
        topic: str,
        frame_id: str = "camera",
        qos: QosSpec = DEFAULT,
        domain: int = 0,
        notify: Notify = stderr_notify,
    ) -> None:
        from edgecompress.ros.dds import open_endpoint

        self.endpoint = open_endpoint(
            topic, m.DETECTIONS, qos, domain, writer=True, notify=notify, hint_flag="--sink-reliability"
        )
        self.frame_id, self.notify = frame_id, notify
        self.written = self.failed = 0

    def send(self, result: FrameResult) -> None:
        from cyclonedds.core import DDSException

        from edgecompress.ros import idl

        frame = result.frame
        hdr = m.header(frame.stamp_ns, frame.frame_id or self.frame_id, idl.TYPES)
        try:
            self.endpoint.entity.write(m.detections_to_msg(result.detections, hdr, idl.TYPES))
        except DDSException as exc:  # e.g. a reliable write blocked past its 100 ms by a stalled subscriber
            self.failed += 1
            if self.failed == 1:
                self.notify(f"warning: ros2: {self.endpoint.topic}: a write failed: {exc}")
            return
        self.written += 1

    def close(self) -> None:
        if self.failed:
            self.notify(f"warning: ros2: {self.endpoint.topic}: {self.failed} writes failed")
        self.endpoint.close()
