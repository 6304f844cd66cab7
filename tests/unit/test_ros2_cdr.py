"""The DDS wire format of edgecompress' ROS 2 IDL types against an independent implementation: rosbags.

Each message is built once with rosbags' types, copied field by field into the IDL types (a converter
written here, not edgecompress' builders), and the CDR of both must be the same bytes, in both byte
orders, each side reading the other's bytes back to the same message.
"""

import dataclasses

import cv2
import numpy as np
import pytest
from cyclonedds.idl._support import Endianness

from edgecompress.ros import idl
from edgecompress.ros import messages as m
from edgecompress.runtime.postprocess import Detections

STORE = m.typestore()
T = STORE.types
RNG = np.random.default_rng(7)


def rb_header(sec: int, nanosec: int, frame_id: str):
    return T["std_msgs/msg/Header"](
        stamp=T["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec), frame_id=frame_id
    )


def rb_image(height: int, width: int, encoding: str, channels: int, itemsize: int = 1, bigendian: int = 0):
    step = width * channels * itemsize + 3  # padded rows, and a data length that is no multiple of 4
    data = RNG.integers(0, 256, height * step, dtype=np.uint8)
    return T[m.IMAGE](
        header=rb_header(1_700_000_123, 999_999_999, "cam_optical"),
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=bigendian,
        step=step,
        data=data,
    )


def rb_compressed():
    jpeg = cv2.imencode(".jpg", RNG.integers(0, 256, (24, 32, 3), dtype=np.uint8))[1].reshape(-1)
    return T[m.COMPRESSED](header=rb_header(-3, 5, "c"), format="jpeg", data=jpeg)


def rb_detections(count: int):
    items = []
    for i in range(count):
        centre = T["vision_msgs/msg/Pose2D"](
            position=T["vision_msgs/msg/Point2D"](x=10.5 + i, y=-2.25), theta=0.125 * i
        )
        pose = T["geometry_msgs/msg/PoseWithCovariance"](
            pose=T["geometry_msgs/msg/Pose"](
                position=T["geometry_msgs/msg/Point"](x=1.0, y=2.0, z=3.0 + i),
                orientation=T["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.6, w=0.8),
            ),
            covariance=np.arange(36, dtype=np.float64) * (i + 0.5),
        )
        hypotheses = [
            T["vision_msgs/msg/ObjectHypothesisWithPose"](
                hypothesis=T["vision_msgs/msg/ObjectHypothesis"](class_id=name, score=0.9 - 0.1 * k),
                pose=pose,
            )
            for k, name in enumerate(["digit_7", "", "ziffer_ä"][: i + 1])
        ]
        items.append(
            T["vision_msgs/msg/Detection2D"](
                header=rb_header(100 + i, i, f"frame{i}"),
                results=hypotheses,
                bbox=T["vision_msgs/msg/BoundingBox2D"](center=centre, size_x=4.0 * i, size_y=3.5),
                id=str(i) * i,
            )
        )
    return T[m.DETECTIONS](header=rb_header(7, 8, "camera"), detections=items)


def names(message) -> list[str]:
    """The message fields of a rosbags or IDL message, in order."""
    return [f.name for f in dataclasses.fields(message) if f.name != "__msgtype__"]


def to_idl(value):
    """A rosbags message (or field value) as the edgecompress IDL type with the same fields."""
    if hasattr(value, "__msgtype__"):
        fields = {name: to_idl(getattr(value, name)) for name in names(value)}
        return idl.TYPES[value.__msgtype__](**fields)
    if isinstance(value, np.ndarray):
        return value.tobytes() if value.dtype == np.uint8 else value.tolist()
    if isinstance(value, list):
        return [to_idl(v) for v in value]
    return value


def plain(value):
    """Either kind of message as nested dicts, lists and bytes, to compare them."""
    if dataclasses.is_dataclass(value):
        return {
            f.name: plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name != "__msgtype__"
        }
    if isinstance(value, np.ndarray):
        return value.tobytes() if value.dtype == np.uint8 else value.tolist()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


MESSAGES = {
    "image-bgr8": (m.IMAGE, lambda: rb_image(5, 7, "bgr8", 3)),
    "image-mono16-bigendian": (m.IMAGE, lambda: rb_image(4, 3, "mono16", 1, 2, bigendian=1)),
    "image-empty": (m.IMAGE, lambda: rb_image(0, 0, "", 3)),
    "compressed-jpeg": (m.COMPRESSED, rb_compressed),
    "detections-none": (m.DETECTIONS, lambda: rb_detections(0)),
    "detections-three": (m.DETECTIONS, lambda: rb_detections(3)),
}


@pytest.mark.parametrize("little_endian", [True, False], ids=["little-endian", "big-endian"])
@pytest.mark.parametrize("case", MESSAGES)
def test_cdr_bytes_equal_rosbags_both_ways(case, little_endian):
    msgtype, build = MESSAGES[case]
    theirs_msg = build()
    ours_msg = to_idl(theirs_msg)
    theirs = bytes(STORE.serialize_cdr(theirs_msg, msgtype, little_endian=little_endian))
    ours = ours_msg.serialize(endianness=Endianness.Little if little_endian else Endianness.Big)
    # the 4-byte encapsulation header: CDR_LE (0x0001) or CDR_BE (0x0000), XCDR1 plain, options 0
    assert ours[:4] == theirs[:4] == (b"\x00\x01\x00\x00" if little_endian else b"\x00\x00\x00\x00")
    assert ours == theirs
    # each side reads the other's bytes back to the same message
    assert plain(STORE.deserialize_cdr(ours, msgtype)) == plain(theirs_msg)
    assert plain(type(ours_msg).deserialize(theirs)) == plain(ours_msg)


def test_idl_types_have_rosbags_fields_and_ros2_dds_names():
    """Same field names in the same order as the .msg definitions; DDS names as ROS 2 spells them."""
    for msgtype, datatype in idl.TYPES.items():
        assert names(datatype) == names(T[msgtype]), msgtype
        package, _, name = msgtype.split("/")
        assert datatype.__idl_typename__ == f"{package}::msg::dds_::{name}_"
    assert idl.Image.__idl_typename__ == "sensor_msgs::msg::dds_::Image_"
    assert idl.Detection2DArray.__idl_typename__ == "vision_msgs::msg::dds_::Detection2DArray_"


def test_shared_builders_make_the_same_bytes_for_bags_and_dds():
    """edgecompress.ros.messages builds rosbags and IDL messages alike: the node, bags and DDS agree."""
    image = RNG.integers(0, 256, (6, 9, 3), dtype=np.uint8)
    dets = Detections(
        np.array([[1, 2, 30, 40], [5.5, 6, 7, 8.25]], np.float32),
        np.array([0.9, 0.5]),
        np.array([0, 1]),
        ["a", "b"],
    )
    for build, msgtype, arg in ((m.image_to_msg, m.IMAGE, image), (m.detections_to_msg, m.DETECTIONS, dets)):
        theirs = m.encode(build(arg, m.header(5_000_000_123, "cam")), msgtype)
        ours = build(arg, m.header(5_000_000_123, "cam", idl.TYPES), idl.TYPES).serialize(
            endianness=Endianness.Little
        )
        assert ours == theirs
    # and a DDS Image converts to the same BGR array as the rosbags one
    ours_image = idl.Image.deserialize(m.encode(m.image_to_msg(image, m.header(0, "c")), m.IMAGE))
    assert isinstance(ours_image.data, bytes)
    np.testing.assert_array_equal(m.image_from_msg(ours_image, m.IMAGE), image)


def test_octet_members_accept_arrays_and_lists():
    for data in (b"\x01\x02\x03", bytearray(b"\x01\x02\x03"), np.array([1, 2, 3], np.uint8), [1, 2, 3]):
        raw = idl.CompressedImage(format="png", data=data).serialize(endianness=Endianness.Little)
        assert idl.CompressedImage.deserialize(raw).data == b"\x01\x02\x03"
