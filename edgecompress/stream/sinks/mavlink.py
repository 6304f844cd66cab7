"""``--sink mavlink``: LANDING_TARGET for one class and a DEBUG_VECT summary per frame, over UDP (pymavlink).

Angles come from the pinhole intrinsics in a camera YAML: ``angle_x = atan((u - cx) / fx)`` with ``u``
the box centre in calibration pixels (frames of another size are scaled to the calibrated width/height).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edgecompress.errors import InputError
from edgecompress.stream.sinks.base import FrameResult, Sink

CAMERA_HINT = "a camera YAML needs width, height, fx, fy, cx, cy in pixels (or a ROS camera_info YAML)"
SUMMARY_NAME = "ec_det"  # DEBUG_VECT name: x = detections, y = best target score, z = latency ms


class CameraModel(BaseModel):
    """Pinhole intrinsics of the camera, in pixels of a ``width``×``height`` image."""

    model_config = ConfigDict(extra="forbid")
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    fx: float = Field(gt=0)
    fy: float = Field(gt=0)
    cx: float
    cy: float

    def angles(self, u: float, v: float, image_shape: tuple[int, int]) -> tuple[float, float]:
        """Angles (rad, x right, y down) of image point (u, v) in an image of ``image_shape`` (h, w)."""
        sx, sy = self.width / image_shape[1], self.height / image_shape[0]
        return math.atan((u * sx - self.cx) / self.fx), math.atan((v * sy - self.cy) / self.fy)


def _from_camera_info(data: dict) -> dict:
    """Accept the YAML that ROS' camera_calibration writes (image_width, camera_matrix.data)."""
    k = data.get("camera_matrix", {}).get("data") if isinstance(data.get("camera_matrix"), dict) else None
    if not isinstance(k, list) or len(k) != 9:
        raise InputError("camera_matrix.data must list 9 numbers", CAMERA_HINT)
    return {
        "width": data.get("image_width"),
        "height": data.get("image_height"),
        "fx": k[0],
        "fy": k[4],
        "cx": k[2],
        "cy": k[5],
    }


def load_camera(path: str | Path) -> CameraModel:
    """Read and validate a camera YAML; any problem is one InputError naming the file and the field."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise InputError(f"camera file {path} not found", CAMERA_HINT)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InputError(
            f"camera file {path} is not valid YAML: {str(exc).splitlines()[0]}", CAMERA_HINT
        ) from exc
    if not isinstance(data, dict):
        raise InputError(f"camera file {path} must be a mapping", CAMERA_HINT)
    if "camera_matrix" in data:
        data = _from_camera_info(data)
    try:
        return CameraModel.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise InputError(f"camera file {path}: {field}: {first['msg']}", CAMERA_HINT) from exc


class RateLimiter:
    """Lets an event through at most ``rate_hz`` times per second of ``clock``."""

    def __init__(self, rate_hz: float, clock: Callable[[], float]) -> None:
        self.period = 1.0 / rate_hz if rate_hz > 0 else 0.0
        self.clock = clock
        self._last: float | None = None

    def ready(self) -> bool:
        """True (and the slot is taken) when a period has passed since the last event let through."""
        now = self.clock()
        if self._last is not None and now - self._last < self.period - 1e-9:
            return False
        self._last = now
        return True


def connect(url: str, system_id: int = 1, component_id: int = 191) -> Any:
    """Open a pymavlink connection (MAVLink 2, common dialect) such as ``udpout:127.0.0.1:14550``."""
    os.environ.setdefault("MAVLINK20", "1")
    from pymavlink import mavutil

    if not url.startswith(("udpout:", "udpin:", "udp:", "udpbcast:", "tcp:", "tcpin:", "/dev/")):
        raise InputError(
            f"unsupported MAVLink URL {url!r}", "use udpout:HOST:PORT, e.g. udpout:127.0.0.1:14550"
        )
    try:
        return mavutil.mavlink_connection(
            url, source_system=system_id, source_component=component_id, dialect="common", autoreconnect=True
        )
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot open MAVLink connection {url}: {exc}", "check host, port and permissions"
        ) from exc


class MavlinkSink(Sink):
    """Sends the best ``target_class`` box as LANDING_TARGET and a DEBUG_VECT per frame, rate-limited."""

    name = "mavlink"

    def __init__(
        self,
        url: str,
        camera: CameraModel,
        target_class: int,
        rate_hz: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        connection: Any = None,
    ) -> None:
        if rate_hz <= 0:
            raise InputError(
                f"--rate must be positive, got {rate_hz}", "pass messages per second, e.g. --rate 10"
            )
        self.camera, self.target_class = camera, target_class
        self.conn = connection if connection is not None else connect(url)
        self.clock = clock
        self._target_rate = RateLimiter(rate_hz, clock)
        self._summary_rate = RateLimiter(rate_hz, clock)
        self._heartbeat = RateLimiter(1.0, clock)
        self.sent = {"LANDING_TARGET": 0, "DEBUG_VECT": 0, "HEARTBEAT": 0}

    def _send_heartbeat(self) -> None:
        from pymavlink.dialects.v20 import common as mav

        self.conn.mav.heartbeat_send(mav.MAV_TYPE_ONBOARD_CONTROLLER, mav.MAV_AUTOPILOT_INVALID, 0, 0, 0)
        self.sent["HEARTBEAT"] += 1

    def send(self, result: FrameResult) -> None:
        from pymavlink.dialects.v20 import common as mav

        if self._heartbeat.ready():
            self._send_heartbeat()
        dets, time_usec = result.detections, result.frame.stamp_ns // 1000
        mine = [i for i, c in enumerate(dets.class_ids.tolist()) if c == self.target_class]
        best = max(mine, key=lambda i: float(dets.scores[i])) if mine else None
        if best is not None and self._target_rate.ready():
            x1, y1, x2, y2 = (float(v) for v in dets.boxes[best])
            shape = result.frame.image.shape[:2]
            angle_x, angle_y = self.camera.angles((x1 + x2) / 2, (y1 + y2) / 2, shape)
            left, top = self.camera.angles(x1, y1, shape)
            right, bottom = self.camera.angles(x2, y2, shape)
            self.conn.mav.landing_target_send(
                time_usec, 0, mav.MAV_FRAME_BODY_FRD, angle_x, angle_y, 0.0, right - left, bottom - top,
                type=mav.LANDING_TARGET_TYPE_VISION_OTHER,
            )  # fmt: skip
            self.sent["LANDING_TARGET"] += 1
        if self._summary_rate.ready():
            score = float(dets.scores[best]) if best is not None else 0.0
            name = SUMMARY_NAME.encode()
            self.conn.mav.debug_vect_send(
                name, time_usec, float(len(dets)), score, result.latency_seconds * 1e3
            )
            self.sent["DEBUG_VECT"] += 1

    def close(self) -> None:
        self.conn.close()
