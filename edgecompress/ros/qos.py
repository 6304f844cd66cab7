"""The QoS a ROS 2 user sets (reliability, keep-last depth), for Cyclone DDS here and rclpy in the node."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgecompress.errors import InputError

RELIABILITIES = ("reliable", "best_effort")


@dataclass(frozen=True)
class QosSpec:
    """Reliability and keep-last depth; durability is volatile, as in ROS 2's defaults."""

    reliable: bool = True
    depth: int = 10

    def __post_init__(self) -> None:
        if self.depth < 1:
            raise InputError(f"QoS depth {self.depth} is not positive", "pass a keep-last depth of 1 or more")

    @classmethod
    def parse(cls, reliability: str, depth: int) -> QosSpec:
        """From ROS' words: ``reliable`` or ``best_effort``, and a depth."""
        if reliability not in RELIABILITIES:
            raise InputError(f"unknown QoS reliability {reliability!r}", "use reliable or best_effort")
        return cls(reliability == "reliable", depth)

    def words(self) -> str:
        """E.g. ``best effort, keep last 5``."""
        return f"{'reliable' if self.reliable else 'best effort'}, keep last {self.depth}"

    def cyclone(self, writer: bool) -> Any:
        """The Cyclone DDS QoS; writers send XCDR1 (what every ROS 2 middleware reads)."""
        from cyclonedds.core import Policy, Qos
        from cyclonedds.util import duration

        reliability = (
            Policy.Reliability.Reliable(max_blocking_time=duration(milliseconds=100))
            if self.reliable
            else Policy.Reliability.BestEffort
        )
        representation = Policy.DataRepresentation(
            use_cdrv0_representation=True, use_xcdrv2_representation=not writer
        )
        return Qos(
            reliability, Policy.History.KeepLast(self.depth), Policy.Durability.Volatile, representation
        )


SENSOR_DATA = QosSpec(reliable=False, depth=5)  # rclcpp/rclpy's qos_profile_sensor_data
DEFAULT = QosSpec(reliable=True, depth=10)  # ROS 2's default publisher and subscription QoS
PROFILES = ("sensor_data", *RELIABILITIES)


def profile(name: str, depth: int | None = None) -> QosSpec:
    """A QoS by the name ROS users give it: ``sensor_data`` (best effort, keep last 5 unless ``depth``
    says otherwise), ``reliable`` or ``best_effort`` (keep last ``depth``, default 10).
    """
    if name == "sensor_data":
        return SENSOR_DATA if depth is None else QosSpec(False, depth)
    if name not in RELIABILITIES:
        raise InputError(f"unknown QoS profile {name!r}", f"use one of: {', '.join(PROFILES)}")
    return QosSpec.parse(name, DEFAULT.depth if depth is None else depth)
