"""``edgecompress bag IN OUT --topic /camera/image_raw``: detections of a recorded bag into a new bag."""

from __future__ import annotations

import argparse


def add_bag_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``edgecompress bag``."""
    parser.add_argument("artifact", help="artifact folder written by `edgecompress compile`")
    parser.add_argument("bag_in", metavar="IN", help="input bag: .mcap or .db3 file, or a rosbag2 folder")
    parser.add_argument("bag_out", metavar="OUT", help="output bag: OUT.mcap / OUT.db3 file, or a folder")
    parser.add_argument(
        "--topic", required=True, help="sensor_msgs/Image or CompressedImage topic to detect on"
    )
    parser.add_argument("--out-topic", default="/edgecompress/detections", help="Detection2DArray topic")
    parser.add_argument("--annotated-topic", help="also write bgr8 images with the boxes drawn to this topic")
    parser.add_argument("--keep-images", action="store_true", help="copy the input image topic into OUT")
    parser.add_argument(
        "--storage", choices=["mcap", "sqlite3"], default="mcap", help="storage of a folder OUT"
    )
    parser.add_argument("--conf", type=float, default=0.25, help="score threshold")


def bag_command(args: argparse.Namespace) -> int:
    """Run the detector over the bag and print what was written."""
    from edgecompress.ros.bag import detect_bag
    from edgecompress.runtime.detector import load_detector_artifact

    detector = load_detector_artifact(args.artifact, conf=args.conf)
    result = detect_bag(
        detector.predict,
        args.bag_in,
        args.bag_out,
        args.topic,
        out_topic=args.out_topic,
        annotated_topic=args.annotated_topic,
        keep_images=args.keep_images,
        storage=args.storage,
    )
    print(f"{result.out}: {result.images} {result.msgtype} messages, {result.detections} detections")
    return 0
