"""The detector node: a thin rclpy shell over ``edgecompress.ros.messages.process_image_cdr``.

It subscribes to the image topic *serialized* (``raw=True``), hands the CDR bytes to the tested core
(the same code ``edgecompress bag`` runs over recorded bags) and publishes the CDR bytes it returns,
so the node itself does no message conversion.
"""

from __future__ import annotations

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import Detection2DArray

import edgecompress
from edgecompress.errors import EdgecompressError
from edgecompress.ros.messages import COMPRESSED, IMAGE, process_image_cdr

PARAMETERS = {
    "artifact": "",
    "image_topic": "/camera/image_raw",
    "compressed": False,
    "detections_topic": "/edgecompress/detections",
    "annotated_topic": "",
    "score_threshold": 0.25,
    "qos": "sensor_data",
    "qos_depth": 1,
}


class DetectorNode(Node):
    """Image (or CompressedImage) in, vision_msgs/Detection2DArray (and optionally an annotated Image) out."""

    def __init__(self) -> None:
        super().__init__("edgecompress_detector")
        p = {name: self.declare_parameter(name, default).value for name, default in PARAMETERS.items()}
        if not p["artifact"]:
            raise SystemExit(
                "error: parameter 'artifact' is required (the folder written by edgecompress compile)"
            )
        self.detector = edgecompress.load(p["artifact"], conf=float(p["score_threshold"]))
        self.msgtype = COMPRESSED if p["compressed"] else IMAGE
        if p["qos"] == "sensor_data":
            qos = qos_profile_sensor_data
        elif p["qos"] == "reliable":
            qos = QoSProfile(depth=int(p["qos_depth"]), reliability=ReliabilityPolicy.RELIABLE)
        else:
            raise SystemExit(f"error: parameter qos must be sensor_data or reliable, not {p['qos']!r}")
        image_type = CompressedImage if p["compressed"] else Image
        self.create_subscription(image_type, p["image_topic"], self.on_image, qos, raw=True)
        self.detections = self.create_publisher(Detection2DArray, p["detections_topic"], 10)
        self.annotated = (
            self.create_publisher(Image, p["annotated_topic"], qos) if p["annotated_topic"] else None
        )
        self.get_logger().info(
            f"{p['artifact']}: {p['image_topic']} ({self.msgtype}) -> {p['detections_topic']}"
        )

    def on_image(self, raw: bytes) -> None:
        """Detect on one serialized image and publish the serialized results."""
        try:
            detections, annotated = process_image_cdr(
                raw, self.msgtype, self.detector.predict, annotate=self.annotated is not None
            )
        except EdgecompressError as exc:  # a bad frame (encoding, corrupt data) is logged, not fatal
            self.get_logger().error(str(exc), throttle_duration_sec=5.0)
            return
        self.detections.publish(detections)
        if self.annotated is not None and annotated is not None:
            self.annotated.publish(annotated)


def main(args: list[str] | None = None) -> None:
    """``ros2 run edgecompress_ros detector --ros-args -p artifact:=/path/to/artifact``."""
    rclpy.init(args=args)
    node = DetectorNode()
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
