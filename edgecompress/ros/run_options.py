"""``edgecompress run`` with ``--source ros2:TOPIC`` / ``--sink ros2:TOPIC``: options, checks, construction.

Everything a user can get wrong (topic names, message type, QoS, ``ROS_DOMAIN_ID``, the cyclonedds
install) is checked by ``check`` before the model loads; each problem is one InputError (exit 2).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from edgecompress.errors import InputError
from edgecompress.ros.qos import RELIABILITIES, QosSpec

if TYPE_CHECKING:
    from edgecompress.ros.dds_sink import Ros2DetectionSink
    from edgecompress.ros.dds_source import Ros2ImageSource

PREFIX = "ros2:"


def is_ros2(spec: str) -> bool:
    """Whether a ``--source`` or ``--sink`` value names a ROS 2 topic (``ros2:/topic``)."""
    return spec == "ros2" or spec.startswith(PREFIX)


def add_ros2_arguments(parser: argparse.ArgumentParser) -> None:
    """The ros2 source and sink options of ``edgecompress run``."""
    g = parser.add_argument_group(
        "ros2 source and sink (live ROS 2 topics over DDS, no ROS install; domain from ROS_DOMAIN_ID)"
    )
    g.add_argument(
        "--ros-type",
        help="message type of a ros2: source: sensor_msgs/msg/Image (default) or "
        "sensor_msgs/msg/CompressedImage (the default for topics ending in /compressed)",
    )
    g.add_argument(
        "--source-reliability",
        choices=RELIABILITIES,
        default="best_effort",
        help="QoS of the ros2 source (default best_effort: ROS' sensor-data profile)",
    )
    g.add_argument("--source-depth", type=int, default=5, help="keep-last depth of the ros2 source (5)")
    g.add_argument(
        "--sink-reliability",
        choices=RELIABILITIES,
        default="reliable",
        help="QoS of the ros2 sink (default reliable, as ROS' default publisher)",
    )
    g.add_argument("--sink-depth", type=int, default=10, help="keep-last depth of the ros2 sink (10)")


def topic_of(spec: str, what: str) -> str:
    """The fully qualified topic of ``ros2:/topic`` (validated)."""
    from edgecompress.ros.names import full_topic_name

    topic = spec[len(PREFIX) :] if spec.startswith(PREFIX) else ""
    if not topic:
        raise InputError(f"{what} ros2 needs a topic", f"pass {what} ros2:/camera/image_raw")
    return full_topic_name(topic)


def _qos(reliability: str, depth: int) -> QosSpec:
    return QosSpec.parse(reliability, depth)


def check(args: argparse.Namespace, sinks: list[str]) -> None:
    """Validate every ros2 option in use (raises InputError); a no-op when no ros2 source or sink is used."""
    ros_sinks = [s for s in sinks if is_ros2(s)]
    if args.ros_type and not is_ros2(args.source):
        raise InputError("--ros-type is for a ros2: source", "omit it, or pass --source ros2:/topic")
    if not (is_ros2(args.source) or ros_sinks):
        return
    import edgecompress.ros.cyclonedds_octets  # noqa: F401  (the cyclonedds install and version)
    from edgecompress.ros.names import domain_id

    domain_id()
    if is_ros2(args.source):
        from edgecompress.ros.dds_source import image_msgtype

        image_msgtype(topic_of(args.source, "--source"), args.ros_type)
        _qos(args.source_reliability, args.source_depth)
    for sink in ros_sinks:
        topic_of(sink, "--sink")
    if ros_sinks:
        _qos(args.sink_reliability, args.sink_depth)


def open_source(args: argparse.Namespace) -> Ros2ImageSource:
    """The ros2 image source of ``--source ros2:/topic``."""
    from edgecompress.ros.dds_source import Ros2ImageSource
    from edgecompress.ros.names import domain_id

    qos = _qos(args.source_reliability, args.source_depth)
    return Ros2ImageSource(topic_of(args.source, "--source"), args.ros_type, qos, domain_id())


def open_sink(args: argparse.Namespace, spec: str) -> Ros2DetectionSink:
    """The Detection2DArray publisher of ``--sink ros2:/topic``."""
    from edgecompress.ros.dds_sink import Ros2DetectionSink
    from edgecompress.ros.names import domain_id

    qos = _qos(args.sink_reliability, args.sink_depth)
    return Ros2DetectionSink(topic_of(spec, "--sink"), args.frame_id, qos, domain_id())
