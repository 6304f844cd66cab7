"""ROS 2 topics over Cyclone DDS without ROS: QoS, a participant, and readers and writers that say
in words when they match a peer, when a peer's QoS rules out any delivery, and when a topic carries
another message type.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edgecompress.errors import InputError
from edgecompress.ros import idl
from edgecompress.ros.names import dds_topic_name, full_topic_name
from edgecompress.ros.qos import QosSpec

from cyclonedds.core import DDSException, Listener  # isort: skip
from cyclonedds.util import duration  # isort: skip

Notify = Callable[[str], None]
# DDS QoS policy ids, as reported in the incompatible-QoS statuses
_POLICIES = {2: "durability", 4: "deadline", 6: "ownership", 8: "liveliness", 10: "partition"}
_POLICIES |= {11: "reliability", 12: "destination order", 25: "data representation"}


def stderr_notify(line: str) -> None:
    """Print a line to stderr at once (listeners call it from a DDS thread)."""
    print(line, file=sys.stderr, flush=True)


def participant(domain: int) -> Any:
    """A DomainParticipant on ``domain``; a failed DDS start (bad CYCLONEDDS_URI, ...) is an InputError."""
    from cyclonedds.domain import DomainParticipant

    try:
        return DomainParticipant(domain)
    except DDSException as exc:
        raise InputError(
            f"cannot start DDS on ROS domain {domain}: {exc}",
            "check CYCLONEDDS_URI and the network interface it names",
        ) from exc


class EndpointEvents:
    """Listener for one reader or writer: matched peers and incompatible QoS, as notification lines.

    ``incompatible`` keeps the last incompatible-QoS explanation (None when there was none).
    """

    def __init__(self, topic: str, spec: QosSpec, writer: bool, notify: Notify, hint_flag: str) -> None:
        self.topic, self.spec, self.writer, self.notify = topic, spec, writer, notify
        self.hint_flag = hint_flag
        self.incompatible: str | None = None
        self.matched = 0
        self._lock = threading.Lock()

    def listener(self) -> Any:
        """The Cyclone DDS listener that feeds this object."""
        if self.writer:
            return Listener(
                on_publication_matched=lambda _w, s: self._matched(s.current_count),
                on_offered_incompatible_qos=lambda _w, s: self._incompatible(s.last_policy_id),
            )
        return Listener(
            on_subscription_matched=lambda _r, s: self._matched(s.current_count),
            on_requested_incompatible_qos=lambda _r, s: self._incompatible(s.last_policy_id),
        )

    def _matched(self, count: int) -> None:
        with self._lock:
            self.matched = count
        peer = "subscriber" if self.writer else "publisher"
        self.notify(f"ros2: {self.topic}: {count} {peer}{'' if count == 1 else 's'} matched")

    def _incompatible(self, policy_id: int) -> None:
        message = self.explain(policy_id)
        with self._lock:
            first = self.incompatible != message
            self.incompatible = message
        if first:
            self.notify(f"warning: ros2: {message}")

    def explain(self, policy_id: int) -> str:
        """Why a peer gets (or sends) nothing, and what to pass instead."""
        policy = _POLICIES.get(policy_id, f"QoS policy {policy_id}")
        ours = "publisher" if self.writer else "subscriber"
        peer = "subscriber" if self.writer else "publisher"
        text = (
            f"{self.topic}: a {peer} has incompatible QoS ({policy}) with this {ours} "
            f"({self.spec.words()}), so nothing {'reaches it' if self.writer else 'is received from it'}"
        )
        if policy == "reliability":
            wanted = "reliable" if self.writer else "best_effort"
            side = "requests reliable" if self.writer else "publishes best effort"
            return f"{text} (it {side}{f': pass {self.hint_flag} {wanted}' if self.hint_flag else ''})"
        if policy == "durability" and self.writer:
            return f"{text} (it requests transient_local, as latched subscribers do; this one is volatile)"
        return f"{text} (match the {peer}'s {policy} QoS)"


class TopicTypeWatch:
    """Watches DDS discovery for publishers on one topic whose message type is not the expected one."""

    def __init__(self, participant: Any, dds_topic: str, type_name: str) -> None:
        from cyclonedds.builtin import BuiltinDataReader, BuiltinTopicDcpsPublication

        self.reader = BuiltinDataReader(participant, BuiltinTopicDcpsPublication)
        self.dds_topic, self.type_name = dds_topic, type_name

    def other_type(self) -> str | None:
        """The DDS type name of a publisher seen on the topic with another type, if any."""
        for endpoint in self.reader.take(N=64):
            name = getattr(endpoint, "type_name", None)
            if getattr(endpoint, "topic_name", None) == self.dds_topic and name and name != self.type_name:
                return str(name)
        return None


def ros_type_name(dds_type: str) -> str:
    """``sensor_msgs::msg::dds_::Image_`` -> ``sensor_msgs/msg/Image`` (unchanged if not ROS-shaped)."""
    parts = dds_type.split("::")
    if len(parts) == 4 and parts[2] == "dds_" and parts[3].endswith("_"):
        return f"{parts[0]}/{parts[1]}/{parts[3][:-1]}"
    return dds_type


@dataclass
class Endpoint:
    """A reader or writer on one ROS 2 topic, with the participant it lives in and its events."""

    participant: Any
    entity: Any
    events: EndpointEvents
    topic: str
    msgtype: str

    def close(self, linger_s: float = 2.0) -> None:
        """Let matched reliable subscribers acknowledge what was written (up to ``linger_s``), then
        release the DDS entities (Cyclone deletes an entity when its last Python reference goes).
        """
        if self.events.writer and self.events.spec.reliable and self.entity is not None:
            with contextlib.suppress(DDSException):
                self.entity.wait_for_acks(duration(seconds=linger_s))
        self.entity = self.participant = None


def open_endpoint(
    topic: str,
    msgtype: str,
    spec: QosSpec,
    domain: int,
    writer: bool,
    notify: Notify = stderr_notify,
    hint_flag: str = "",
) -> Endpoint:
    """A DataReader (``writer=False``) or DataWriter of ROS 2 message ``msgtype`` on ROS 2 ``topic``."""
    from cyclonedds.pub import DataWriter
    from cyclonedds.sub import DataReader
    from cyclonedds.topic import Topic

    if msgtype not in idl.TYPES:
        raise InputError(f"unknown message type {msgtype!r}", f"use one of: {', '.join(sorted(idl.TYPES))}")
    name = full_topic_name(topic)
    dp = participant(domain)
    events = EndpointEvents(name, spec, writer, notify, hint_flag)
    dds_topic = Topic(dp, dds_topic_name(name), idl.TYPES[msgtype])
    kind = DataWriter if writer else DataReader
    try:
        entity = kind(dp, dds_topic, qos=spec.cyclone(writer), listener=events.listener())
    except DDSException as exc:
        raise InputError(f"cannot open {name} on DDS: {exc}", "check the topic name and QoS") from exc
    return Endpoint(dp, entity, events, name, msgtype)
