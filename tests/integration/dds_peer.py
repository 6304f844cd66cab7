"""A ROS 2 peer for the DDS tests, in a process of its own: a camera publisher or a detections subscriber.

It talks DDS through cyclonedds directly (its own QoS and ROS 2 topic and type names, spelled out
here) and uses only edgecompress' IDL message types, whose bytes tests/unit/test_ros2_cdr.py checks
against rosbags.

    python dds_peer.py publish VIDEO --topic rt/camera/image_raw --count 8 [--best-effort] [--forever]
    python dds_peer.py subscribe --topic rt/detections --count 8 --out received.jsonl
"""

# no ``from __future__ import annotations``: cyclonedds reads FakeImu's field annotations as real types
import argparse
import json
import os
import sys
import time
from dataclasses import dataclass

import cv2
from cyclonedds.core import Policy, Qos
from cyclonedds.domain import DomainParticipant
from cyclonedds.idl import IdlStruct
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration

from edgecompress.ros import idl

T0_NS = 1_700_000_000_000_000_000
STEP_NS = 33_333_333
TYPE_NAMES = {
    "image": "sensor_msgs::msg::dds_::Image_",
    "detections": "vision_msgs::msg::dds_::Detection2DArray_",
}


@dataclass
class FakeImu(IdlStruct, typename="sensor_msgs::msg::dds_::Imu_"):
    """Only its DDS type name matters: a topic that carries something other than images."""

    header: idl.Header


def qos(best_effort: bool, depth: int) -> Qos:
    reliability = (
        Policy.Reliability.BestEffort if best_effort else Policy.Reliability.Reliable(duration(seconds=1))
    )
    return Qos(
        reliability, Policy.History.KeepLast(depth), Policy.DataRepresentation(use_cdrv0_representation=True)
    )


def stamp(index: int) -> idl.Time:
    ns = T0_NS + index * STEP_NS
    return idl.Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def image_message(frame, index: int, encoding: str) -> idl.Image:
    height, width = frame.shape[:2]
    pixels = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if encoding == "rgb8" else frame
    return idl.Image(
        header=idl.Header(stamp=stamp(index), frame_id="cam_optical"),
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=width * 3,
        data=pixels.tobytes(),
    )


def wait_matched(writer: DataWriter, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while writer.get_publication_matched_status().current_count < 1:
        if time.monotonic() > deadline:
            sys.exit("publisher: no subscriber matched")
        time.sleep(0.01)


def publish(args: argparse.Namespace) -> None:
    dp = DomainParticipant(int(os.environ["ROS_DOMAIN_ID"]))
    datatype = FakeImu if args.type == "imu" else idl.Image
    topic = Topic(dp, args.topic, datatype)
    if args.type == "image":
        assert topic.typename == TYPE_NAMES["image"], topic.typename
    writer = DataWriter(dp, topic, qos(args.best_effort, args.depth))
    cap = cv2.VideoCapture(args.video)
    frames = [cap.read()[1] for _ in range(args.count)]
    if not args.forever:
        wait_matched(writer)
    print("publishing", flush=True)
    index = 0
    while True:
        frame = frames[index % len(frames)]
        message = FakeImu(idl.Header(stamp(index), "imu")) if args.type == "imu" else None
        writer.write(message or image_message(frame, index, args.encoding))
        index += 1
        if not args.forever and index == args.count:
            break
        if args.forever:
            time.sleep(0.05)
    writer.wait_for_acks(duration(seconds=10))
    print(f"published {index}", flush=True)


def subscribe(args: argparse.Namespace) -> None:
    dp = DomainParticipant(int(os.environ["ROS_DOMAIN_ID"]))
    topic = Topic(dp, args.topic, idl.Detection2DArray)
    assert topic.typename == TYPE_NAMES["detections"], topic.typename
    reader = DataReader(dp, topic, qos(False, 64))
    deadline = time.monotonic() + args.timeout
    while reader.get_subscription_matched_status().current_count < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    print("ready", flush=True)
    received = []
    while len(received) < args.count and time.monotonic() < deadline:
        samples = [s for s in reader.take(N=64) if s.sample_info.valid_data]
        received += [record(s) for s in samples]
        if not samples:
            time.sleep(0.01)
    time.sleep(args.linger)  # anything beyond count would arrive now and be counted
    received += [record(s) for s in reader.take(N=64) if s.sample_info.valid_data]
    with open(args.out, "w") as out:
        out.writelines(json.dumps(r) + "\n" for r in received)
    print(f"received {len(received)}", flush=True)


def record(message: idl.Detection2DArray) -> dict:
    """What the test compares: the header and each box (xyxy), score and class name."""
    boxes, scores, labels = [], [], []
    for det in message.detections:
        c, w, h = det.bbox.center.position, det.bbox.size_x, det.bbox.size_y
        boxes.append([c.x - w / 2, c.y - h / 2, c.x + w / 2, c.y + h / 2])
        scores.append(det.results[0].hypothesis.score)
        labels.append(det.results[0].hypothesis.class_id)
        assert det.header == message.header
    stamp_ns = message.header.stamp.sec * 1_000_000_000 + message.header.stamp.nanosec
    return {
        "stamp_ns": stamp_ns,
        "frame_id": message.header.frame_id,
        "boxes": boxes,
        "scores": scores,
        "labels": labels,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="role", required=True)
    pub = sub.add_parser("publish")
    pub.add_argument("video")
    pub.add_argument("--topic", required=True)
    pub.add_argument("--count", type=int, default=8)
    pub.add_argument("--depth", type=int, default=64)
    pub.add_argument("--best-effort", action="store_true")
    pub.add_argument("--forever", action="store_true", help="publish every 50 ms until killed")
    pub.add_argument("--encoding", default="bgr8")
    pub.add_argument("--type", choices=["image", "imu"], default="image")
    rec = sub.add_parser("subscribe")
    rec.add_argument("--topic", required=True)
    rec.add_argument("--count", type=int, required=True)
    rec.add_argument("--out", required=True)
    rec.add_argument("--timeout", type=float, default=60)
    rec.add_argument("--linger", type=float, default=0.3)
    args = parser.parse_args()
    publish(args) if args.role == "publish" else subscribe(args)


if __name__ == "__main__":
    main()
