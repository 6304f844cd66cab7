"""``edgecompress run``: validate options, open the source, load the artifact, build the sinks, run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from edgecompress.errors import InputError
from edgecompress.ros import run_options as ros2

if TYPE_CHECKING:
    from edgecompress.stream.capture import FrameSource
    from edgecompress.stream.sinks.base import Sink

SINKS = ("json", "mavlink", "ros2bag", "display", "ros2:TOPIC")


def sink_name(value: str) -> str:
    """A ``--sink`` value: one of SINKS, or ``ros2:/topic`` (checked before the model loads)."""
    if value in SINKS[:-1] or ros2.is_ros2(value):
        return value
    raise argparse.ArgumentTypeError(f"invalid choice: {value!r} (choose from {', '.join(SINKS)})")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``edgecompress run``."""
    parser.add_argument("artifact", help="artifact folder written by `edgecompress compile`")
    parser.add_argument(
        "--source",
        required=True,
        help="video file, rtsp://... URL, /dev/videoN (or camera index), image folder, ros2:/image/topic",
    )
    parser.add_argument(
        "--sink",
        action="append",
        type=sink_name,
        metavar="{" + ",".join(SINKS) + "}",
        help="where detections go (repeatable; json)",
    )
    parser.add_argument(
        "--out", help="json: output file (default stdout); ros2bag: output bag (.mcap file or dir)"
    )
    parser.add_argument("--conf", type=float, help="score threshold (default: the artifact's 0.25)")
    parser.add_argument("--max-frames", type=int, help="stop after this many captured frames")
    frames = parser.add_mutually_exclusive_group()
    frames.add_argument(
        "--every-frame",
        action="store_true",
        help="never drop: capture waits for inference (the default for files and folders)",
    )
    frames.add_argument(
        "--latest-frame",
        action="store_true",
        help="drop the frames inference cannot keep up with (the default for cameras and streams)",
    )
    parser.add_argument("--summary", help="also write the run summary as JSON to this file")
    parser.add_argument("--quiet", action="store_true", help="no live status line")
    parser.add_argument(
        "--log-every",
        type=float,
        default=10.0,
        help="seconds between status lines when stderr is not a terminal",
    )
    m = parser.add_argument_group("mavlink sink")
    m.add_argument("--mavlink-url", default="udpout:127.0.0.1:14550", help="pymavlink connection string")
    m.add_argument("--camera", help="camera intrinsics YAML (width, height, fx, fy, cx, cy)")
    m.add_argument("--target-class", help="class name (or id) sent as LANDING_TARGET")
    m.add_argument("--rate", type=float, default=10.0, help="max LANDING_TARGET and DEBUG_VECT messages/s")
    r = parser.add_argument_group("ros2bag sink")
    r.add_argument("--topic", default="/edgecompress/detections", help="Detection2DArray topic in the bag")
    r.add_argument(
        "--frame-id",
        default="camera",
        help="header.frame_id of the written messages (ros2bag and ros2 sinks; a ros2 source's own wins)",
    )
    ros2.add_ros2_arguments(parser)


def class_index(names: list[str], wanted: str) -> int:
    """The class id of ``wanted`` (a name or a number) in the artifact's class list."""
    if wanted in names:
        return names.index(wanted)
    if wanted.isdigit() and int(wanted) < len(names):
        return int(wanted)
    raise InputError(f"class {wanted!r} is not in the artifact", f"pick one of: {', '.join(names)}")


def _check_options(args: argparse.Namespace, sinks: list[str]) -> None:
    """Everything that can be checked before opening the source and loading the model."""
    if "mavlink" in sinks and not (args.camera and args.target_class):
        raise InputError(
            "--sink mavlink needs --camera and --target-class", "e.g. --camera cam.yaml --target-class pad"
        )
    if "ros2bag" in sinks and not args.out:
        raise InputError("--sink ros2bag needs --out", "pass --out detections.mcap")
    if args.max_frames is not None and args.max_frames <= 0:
        raise InputError("--max-frames must be positive", "omit it to run until the source ends")
    ros2.check(args, sinks)
    if not (Path(args.artifact) / "artifact.json").is_file():
        raise InputError(
            f"{args.artifact} is not an edgecompress artifact", "pass a folder written by compile"
        )


def build_sinks(args: argparse.Namespace, sinks: list[str], names: list[str]) -> list[Sink]:
    """Construct the chosen sinks (each validates its own options)."""
    built: list[Sink] = []
    try:
        for name in sinks:
            if name == "json":
                from edgecompress.stream.sinks.json_sink import JsonSink

                built.append(JsonSink(None if "ros2bag" in sinks else args.out))  # --out is the bag then
            elif name == "display":
                from edgecompress.stream.sinks.display import DisplaySink

                built.append(DisplaySink())
            elif name == "mavlink":
                from edgecompress.stream.sinks.mavlink import MavlinkSink, load_camera

                camera = load_camera(args.camera)
                built.append(
                    MavlinkSink(args.mavlink_url, camera, class_index(names, args.target_class), args.rate)
                )
            elif name == "ros2bag":
                from edgecompress.ros.bag import BagSink

                built.append(BagSink(args.out, args.topic, args.frame_id))
            elif ros2.is_ros2(name):
                built.append(ros2.open_sink(args, name))
    except BaseException:
        for sink in built:
            sink.close()
        raise
    return built


def _plain_status(every_s: float):  # type: ignore[no-untyped-def]
    """A live callback printing the status line to stderr at most every ``every_s`` seconds."""
    import sys
    import time

    last = [float("-inf")]

    def emit(line: str) -> None:
        if time.monotonic() - last[0] >= every_s:
            last[0] = time.monotonic()
            print(f"status: {line}", file=sys.stderr, flush=True)

    return emit


def open_source(spec: str, args: argparse.Namespace) -> FrameSource:
    """The frame source of ``--source``: a ROS 2 topic, or what ``capture.open_source`` opens."""
    if ros2.is_ros2(spec):
        return ros2.open_source(args)
    from edgecompress.stream.capture import open_source as open_capture

    return open_capture(spec)


def run_command(args: argparse.Namespace) -> int:
    """``edgecompress run``: 0 when the source ended or was stopped cleanly; 1 if a live source was lost."""
    from edgecompress.runtime.detector import load_detector_artifact
    from edgecompress.stream.runner import run_stream
    from edgecompress.ui import console

    sinks = list(dict.fromkeys(args.sink or ["json"]))
    _check_options(args, sinks)
    if "mavlink" in sinks:
        from edgecompress.stream.sinks.mavlink import load_camera

        load_camera(args.camera)  # a bad camera file fails before the model loads
    source = open_source(args.source, args)
    try:
        detector = load_detector_artifact(args.artifact, conf=args.conf if args.conf is not None else 0.25)
        built = build_sinks(args, sinks, detector.names)
    except BaseException:
        source.close()
        raise

    def infer(image):  # type: ignore[no-untyped-def]
        return detector.predict(image)

    def run(live):  # type: ignore[no-untyped-def]
        drop = args.latest_frame or (source.live and not args.every_frame)
        return run_stream(source, infer, built, drop, args.max_frames, live)

    if args.quiet:
        result = run(None)
    elif console.is_terminal:
        from rich.live import Live

        with Live(console=console, auto_refresh=False, transient=True) as live:
            result = run(lambda line: live.update(line, refresh=True))
    else:  # journald, a pipe or a file: plain status lines every --log-every seconds
        result = run(_plain_status(args.log_every))
    s = result.summary
    console.print(
        f"summary: {result.ended}; captured {s['captured']}, processed {s['processed']}, "
        f"dropped {s['dropped']}; "
        f"{s['fps']:.1f} FPS; end-to-end latency p50 {s['e2e_p50_ms']:.1f} ms, p95 {s['e2e_p95_ms']:.1f} ms "
        f"(inference p50 {s['infer_p50_ms']:.1f} ms)",
        highlight=False,
        soft_wrap=True,
    )
    if args.summary:
        record = {
            **s,
            "stopped_by": result.stopped_by,
            "source_lost": result.source_lost,
            "ended": result.ended,
        }
        Path(args.summary).write_text(json.dumps(record, indent=2) + "\n")
    return 1 if result.source_lost else 0
