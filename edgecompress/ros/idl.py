"""The ROS 2 messages edgecompress speaks, as Cyclone DDS IDL types named the way ROS 2 names them on DDS.

A ROS 2 message ``pkg/msg/Name`` is the DDS type ``pkg::msg::dds_::Name_`` (final extensibility,
XCDR1 on the wire); field names and order follow the ``.msg`` definitions, so the constructors take
the same keywords as the ``rosbags`` types and ``edgecompress.ros.messages`` builds either.
"""

# mypy: disable-error-code="type-arg, valid-type, assignment"
# (cyclonedds' IDL annotations such as array[float64, 36] need its own mypy plugin)
# no ``from __future__ import annotations``: cyclonedds reads the field annotations as real types
from dataclasses import dataclass, field

from edgecompress.ros.cyclonedds_octets import octet_members

# imported after the version check in cyclonedds_octets
from cyclonedds.idl import IdlStruct  # isort: skip
from cyclonedds.idl import types as t  # isort: skip


def dds_type_name(msgtype: str) -> str:
    """``sensor_msgs/msg/Image`` -> ``sensor_msgs::msg::dds_::Image_``."""
    package, kind, name = msgtype.split("/")
    return f"{package}::{kind}::dds_::{name}_"


@dataclass
class Time(IdlStruct, typename=dds_type_name("builtin_interfaces/msg/Time")):
    sec: t.int32 = 0
    nanosec: t.uint32 = 0


@dataclass
class Header(IdlStruct, typename=dds_type_name("std_msgs/msg/Header")):
    stamp: Time = field(default_factory=Time)
    frame_id: str = ""


@dataclass
class Image(IdlStruct, typename=dds_type_name("sensor_msgs/msg/Image")):
    header: Header = field(default_factory=Header)
    height: t.uint32 = 0
    width: t.uint32 = 0
    encoding: str = ""
    is_bigendian: t.uint8 = 0
    step: t.uint32 = 0
    data: t.sequence[t.uint8] = b""  # bytes in Python, see cyclonedds_octets


@dataclass
class CompressedImage(IdlStruct, typename=dds_type_name("sensor_msgs/msg/CompressedImage")):
    header: Header = field(default_factory=Header)
    format: str = ""
    data: t.sequence[t.uint8] = b""


@dataclass
class Point(IdlStruct, typename=dds_type_name("geometry_msgs/msg/Point")):
    x: t.float64 = 0.0
    y: t.float64 = 0.0
    z: t.float64 = 0.0


@dataclass
class Quaternion(IdlStruct, typename=dds_type_name("geometry_msgs/msg/Quaternion")):
    x: t.float64 = 0.0
    y: t.float64 = 0.0
    z: t.float64 = 0.0
    w: t.float64 = 1.0


@dataclass
class Pose(IdlStruct, typename=dds_type_name("geometry_msgs/msg/Pose")):
    position: Point = field(default_factory=Point)
    orientation: Quaternion = field(default_factory=Quaternion)


@dataclass
class PoseWithCovariance(IdlStruct, typename=dds_type_name("geometry_msgs/msg/PoseWithCovariance")):
    pose: Pose = field(default_factory=Pose)
    covariance: t.array[t.float64, 36] = field(default_factory=lambda: [0.0] * 36)


@dataclass
class Point2D(IdlStruct, typename=dds_type_name("vision_msgs/msg/Point2D")):
    x: t.float64 = 0.0
    y: t.float64 = 0.0


@dataclass
class Pose2D(IdlStruct, typename=dds_type_name("vision_msgs/msg/Pose2D")):
    position: Point2D = field(default_factory=Point2D)
    theta: t.float64 = 0.0


@dataclass
class BoundingBox2D(IdlStruct, typename=dds_type_name("vision_msgs/msg/BoundingBox2D")):
    center: Pose2D = field(default_factory=Pose2D)
    size_x: t.float64 = 0.0
    size_y: t.float64 = 0.0


@dataclass
class ObjectHypothesis(IdlStruct, typename=dds_type_name("vision_msgs/msg/ObjectHypothesis")):
    class_id: str = ""
    score: t.float64 = 0.0


@dataclass
class ObjectHypothesisWithPose(IdlStruct, typename=dds_type_name("vision_msgs/msg/ObjectHypothesisWithPose")):
    hypothesis: ObjectHypothesis = field(default_factory=ObjectHypothesis)
    pose: PoseWithCovariance = field(default_factory=PoseWithCovariance)


@dataclass
class Detection2D(IdlStruct, typename=dds_type_name("vision_msgs/msg/Detection2D")):
    header: Header = field(default_factory=Header)
    results: t.sequence[ObjectHypothesisWithPose] = field(default_factory=list)
    bbox: BoundingBox2D = field(default_factory=BoundingBox2D)
    id: str = ""


@dataclass
class Detection2DArray(IdlStruct, typename=dds_type_name("vision_msgs/msg/Detection2DArray")):
    header: Header = field(default_factory=Header)
    detections: t.sequence[Detection2D] = field(default_factory=list)


octet_members(Image, "data")
octet_members(CompressedImage, "data")

# ROS 2 message name -> IDL type, the same keys as the rosbags typestore's ``types``
TYPES: dict[str, type[IdlStruct]] = {
    "builtin_interfaces/msg/Time": Time,
    "std_msgs/msg/Header": Header,
    "sensor_msgs/msg/Image": Image,
    "sensor_msgs/msg/CompressedImage": CompressedImage,
    "geometry_msgs/msg/Point": Point,
    "geometry_msgs/msg/Quaternion": Quaternion,
    "geometry_msgs/msg/Pose": Pose,
    "geometry_msgs/msg/PoseWithCovariance": PoseWithCovariance,
    "vision_msgs/msg/Point2D": Point2D,
    "vision_msgs/msg/Pose2D": Pose2D,
    "vision_msgs/msg/BoundingBox2D": BoundingBox2D,
    "vision_msgs/msg/ObjectHypothesis": ObjectHypothesis,
    "vision_msgs/msg/ObjectHypothesisWithPose": ObjectHypothesisWithPose,
    "vision_msgs/msg/Detection2D": Detection2D,
    "vision_msgs/msg/Detection2DArray": Detection2DArray,
}
