"""ROS 2 message conversion over CDR with the ``rosbags`` typestore (no ROS installation needed).

Images in (sensor_msgs/Image or CompressedImage) become BGR arrays; detections go out as
vision_msgs/Detection2DArray with the input's header, so stamps and frame ids line up downstream.
The builders take ``types`` (message name -> constructor): the rosbags typestore's by default, or
``edgecompress.ros.idl.TYPES`` for live DDS, so bags, the ROS node and DDS share one conversion.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from edgecompress.errors import InputError
from edgecompress.runtime.postprocess import Detections

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
DETECTIONS = "vision_msgs/msg/Detection2DArray"
IMAGE_TYPES = (IMAGE, COMPRESSED)

# vision_msgs 4.x (Humble and later); not part of rosbags' built-in stores.
VISION_MSGS = {
    "vision_msgs/msg/Point2D": "float64 x\nfloat64 y\n",
    "vision_msgs/msg/Pose2D": "vision_msgs/Point2D position\nfloat64 theta\n",
    "vision_msgs/msg/BoundingBox2D": "vision_msgs/Pose2D center\nfloat64 size_x\nfloat64 size_y\n",
    "vision_msgs/msg/ObjectHypothesis": "string class_id\nfloat64 score\n",
    "vision_msgs/msg/ObjectHypothesisWithPose": (
        "vision_msgs/ObjectHypothesis hypothesis\ngeometry_msgs/PoseWithCovariance pose\n"
    ),
    "vision_msgs/msg/Detection2D": (
        "std_msgs/Header header\nvision_msgs/ObjectHypothesisWithPose[] results\n"
        "vision_msgs/BoundingBox2D bbox\nstring id\n"
    ),
    "vision_msgs/msg/Detection2DArray": "std_msgs/Header header\nvision_msgs/Detection2D[] detections\n",
}

# encoding -> (channels, numpy dtype, OpenCV conversion to BGR or None)
_ENCODINGS: dict[str, tuple[int, str, str | None]] = {
    "bgr8": (3, "u1", None),
    "8UC3": (3, "u1", None),
    "rgb8": (3, "u1", "COLOR_RGB2BGR"),
    "bgra8": (4, "u1", "COLOR_BGRA2BGR"),
    "rgba8": (4, "u1", "COLOR_RGBA2BGR"),
    "mono8": (1, "u1", "COLOR_GRAY2BGR"),
    "8UC1": (1, "u1", "COLOR_GRAY2BGR"),
    "mono16": (1, "u2", "COLOR_GRAY2BGR"),
    "16UC1": (1, "u2", "COLOR_GRAY2BGR"),
    "yuv422": (2, "u1", "COLOR_YUV2BGR_UYVY"),
    "yuv422_yuy2": (2, "u1", "COLOR_YUV2BGR_YUY2"),
}


@lru_cache(maxsize=1)
def typestore() -> Any:
    """The ROS 2 Humble typestore plus vision_msgs."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = get_typestore(Stores.ROS2_HUMBLE)
    types: dict = {}
    for name, text in VISION_MSGS.items():
        types.update(get_types_from_msg(text, name))
    store.register(types)
    return store


def _types(types: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return typestore().types if types is None else types


def octets(data: Any) -> np.ndarray:
    """A message's ``uint8[]`` field (a numpy array from rosbags, bytes from DDS) as a uint8 array."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return np.frombuffer(data, dtype=np.uint8)
    return np.asarray(data, dtype=np.uint8)


def check_image_type(topic: str, msgtype: str) -> None:
    """Raise an InputError unless ``msgtype`` is an image message."""
    if msgtype not in IMAGE_TYPES:
        raise InputError(
            f"topic {topic} carries {msgtype}", f"pick a topic of type {' or '.join(IMAGE_TYPES)}"
        )


def decode(raw: bytes | memoryview, msgtype: str) -> Any:
    """Deserialize CDR bytes; a malformed message is an InputError."""
    try:
        return typestore().deserialize_cdr(bytes(raw), msgtype)
    except Exception as exc:  # rosbags raises assorted errors on truncated or corrupt data
        raise InputError(f"malformed {msgtype} message: {exc}", "the bag or stream is corrupt") from exc


def encode(msg: Any, msgtype: str) -> bytes:
    """Serialize a message to CDR bytes."""
    return bytes(typestore().serialize_cdr(msg, msgtype))


def image_from_msg(msg: Any, msgtype: str) -> np.ndarray:
    """A BGR uint8 image from a sensor_msgs Image or CompressedImage message."""
    import cv2

    if msgtype == COMPRESSED:
        image = cv2.imdecode(octets(msg.data), cv2.IMREAD_COLOR)
        if image is None:
            raise InputError(f"cannot decode CompressedImage (format {msg.format!r})", "publish jpeg or png")
        return image
    if msg.encoding not in _ENCODINGS:
        raise InputError(
            f"unsupported image encoding {msg.encoding!r}", f"publish one of: {', '.join(_ENCODINGS)}"
        )
    channels, dtype, conversion = _ENCODINGS[msg.encoding]
    itemsize = np.dtype(dtype).itemsize
    row = msg.width * channels * itemsize
    data = octets(msg.data)
    if msg.step < row or data.size < msg.step * msg.height:
        raise InputError(
            f"Image data too short: {data.size} bytes for {msg.height}x{msg.width} {msg.encoding} "
            f"(step {msg.step})",
            "the message is corrupt",
        )
    rows = data[: msg.step * msg.height].reshape(msg.height, msg.step)[:, :row]
    order = ">" if msg.is_bigendian else "<"
    image = np.ascontiguousarray(rows).view(order + dtype).reshape(msg.height, msg.width, channels)
    if itemsize == 2:
        image = (image >> 8).astype(np.uint8)
    if channels == 1:
        image = image[:, :, 0]
    return cv2.cvtColor(image, getattr(cv2, conversion)) if conversion else image


def header(stamp_ns: int, frame_id: str, types: Mapping[str, Any] | None = None) -> Any:
    """A std_msgs/Header for a wall-clock time in nanoseconds."""
    types = _types(types)
    stamp = types["builtin_interfaces/msg/Time"](
        sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000
    )
    return types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)


def image_to_msg(image: np.ndarray, hdr: Any, types: Mapping[str, Any] | None = None) -> Any:
    """A bgr8 sensor_msgs/Image of a BGR uint8 array."""
    height, width = image.shape[:2]
    return _types(types)[IMAGE](
        header=hdr,
        height=height,
        width=width,
        encoding="bgr8",
        is_bigendian=0,
        step=width * 3,
        data=np.ascontiguousarray(image, dtype=np.uint8).reshape(-1),
    )


def detections_to_msg(detections: Detections, hdr: Any, types: Mapping[str, Any] | None = None) -> Any:
    """A vision_msgs/Detection2DArray: box centre and size in image pixels, class name as class_id."""
    types = _types(types)
    pose = types["geometry_msgs/msg/PoseWithCovariance"](
        pose=types["geometry_msgs/msg/Pose"](
            position=types["geometry_msgs/msg/Point"](x=0.0, y=0.0, z=0.0),
            orientation=types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
        ),
        covariance=np.zeros(36, dtype=np.float64),
    )
    items = []
    for box, score, label in zip(
        detections.boxes.tolist(), detections.scores.tolist(), detections.labels, strict=True
    ):
        x1, y1, x2, y2 = box
        centre = types["vision_msgs/msg/Pose2D"](
            position=types["vision_msgs/msg/Point2D"](x=(x1 + x2) / 2, y=(y1 + y2) / 2), theta=0.0
        )
        hypothesis = types["vision_msgs/msg/ObjectHypothesisWithPose"](
            hypothesis=types["vision_msgs/msg/ObjectHypothesis"](class_id=label, score=float(score)),
            pose=pose,
        )
        items.append(
            types["vision_msgs/msg/Detection2D"](
                header=hdr,
                results=[hypothesis],
                bbox=types["vision_msgs/msg/BoundingBox2D"](center=centre, size_x=x2 - x1, size_y=y2 - y1),
                id="",
            )
        )
    return types[DETECTIONS](header=hdr, detections=items)


def process_image_cdr(
    raw: bytes | memoryview, msgtype: str, detect: Any, annotate: bool = False
) -> tuple[bytes, bytes | None]:
    """The ROS 2 node's whole job: image CDR in, Detection2DArray CDR (and an annotated image) out.

    ``detect`` maps a BGR image to :class:`Detections`; the output keeps the input's header.
    """
    msg = decode(raw, msgtype)
    image = image_from_msg(msg, msgtype)
    detections = detect(image)
    out = encode(detections_to_msg(detections, msg.header), DETECTIONS)
    if not annotate:
        return out, None
    from edgecompress.stream.sinks.display import annotate as draw

    return out, encode(image_to_msg(draw(image, detections), msg.header), IMAGE)
