"""The detector node: a thin rclpy shell over ``edgecompress.ros.messages.process_image_cdr``.

It subscribes to the image topic *serialized* (``raw=True``), hands the CDR bytes to the tested core
(the same code ``edgecompress bag`` runs over recorded bags, and whose messages ``edgecompress run
--source ros2:`` reads from DDS) and publishes the CDR bytes it returns, so the node itself does no
message conversion. Its QoS parameters mean what ``edgecompress.ros.qos.profile`` says, as for
``edgecompress run``.
"""

from __future__ import annotations

import rclpy
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import Detection2DArray

import edgecompress
from edgecompress.errors import EdgecompressError
from edgecompress.ros.messages import COMPRESSED, IMAGE, process_image_cdr
from edgecompress.ros.qos import DEFAULT, QosSpec, profile

PARAMETERS = {
    "artifact": "",
    "image_topic": "/camera/image_raw",
    "compressed": False,
    "detections_topic": "/edgecompress/detections",
    "annotated_topic": "",
    "score_threshold": 0.25,
    "qos": "sensor_data",
    "qos_depth": 5,
}


def rclpy_qos(spec: QosSpec) -> QoSProfile:
    """The rclpy profile of a QoS spec: keep last ``depth``, volatile, reliable or best effort."""
    reliability = ReliabilityPolicy.RELIABLE if spec.reliable else ReliabilityPolicy.BEST_EFFORT
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=spec.depth,
        reliability=reliability,
        durability=DurabilityPolicy.VOLATILE,
    )


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
        try:
            qos = rclpy_qos(profile(p["qos"], int(p["qos_depth"])))
        except EdgecompressError as exc:
            raise SystemExit(f"error: parameter qos/qos_depth: {exc}") from exc
        image_type = CompressedImage if p["compressed"] else Image
        self.create_subscription(image_type, p["image_topic"], self.on_image, qos, raw=True)
        self.detections = self.create_publisher(Detection2DArray, p["detections_topic"], rclpy_qos(DEFAULT))
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
