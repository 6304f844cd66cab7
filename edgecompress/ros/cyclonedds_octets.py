"""Cyclone DDS Python patch: ``sequence<uint8>`` members of our message types read and write ``bytes``.

cyclonedds 11 (de)serializes a ``sequence[uint8]`` one Python int per byte: 0.1 s to publish and
0.05 s to read one 640x480 bgr8 Image, several times a frame at 30 FPS. Declaring the member as
``bytes`` would be fast but leaves the type without XTypes type information, which Topic creation
needs. So the members stay ``sequence[uint8]`` (the type information says uint8, as ROS 2's IDL
does) and only their CDR machines are swapped, per type, for one that copies the bytes at once: the
same wire format (a uint32 length, then the bytes; alignment 4). This touches machine internals of
cyclonedds, hence the pinned version checked here.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

import numpy as np

from edgecompress.errors import InputError

TESTED = ("11.0.1",)


def check_version() -> None:
    """Raise an InputError unless the installed cyclonedds is a tested version."""
    try:
        version = metadata.version("cyclonedds")
    except metadata.PackageNotFoundError as exc:
        raise InputError(
            "cyclonedds is not installed (ROS 2 over DDS needs it)",
            "pip install cyclonedds==11.0.1; where PyPI has no wheel (Linux aarch64, e.g. a Jetson) build "
            "Cyclone DDS 11.0.1 and install it with CYCLONEDDS_HOME set",
        ) from exc
    if version not in TESTED:
        raise InputError(
            f"cyclonedds {version} is installed; edgecompress' ROS 2 transport is tested with "
            f"{', '.join(TESTED)}",
            "pip install cyclonedds==11.0.1",
        )


check_version()

from cyclonedds.idl._machinery import PlainCdrV2SequenceOfPrimitiveMachine  # noqa: E402
from cyclonedds.idl.types import uint8  # noqa: E402


def as_octets(value: Any) -> bytes | bytearray | memoryview:
    """``value`` (bytes, a uint8 array or a list of ints) as a buffer of bytes."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return value
    return np.ascontiguousarray(value, dtype=np.uint8).reshape(-1).data


class OctetSequenceMachine(PlainCdrV2SequenceOfPrimitiveMachine):
    """``sequence<uint8>`` in CDR, as ``bytes`` in Python (any byte buffer accepted when writing)."""

    def __init__(self) -> None:
        super().__init__(uint8)

    def serialize(self, buffer: Any, value: Any, *args: Any, **kwargs: Any) -> None:
        data = as_octets(value)
        buffer.align(4)
        buffer.write("I", 4, len(data))
        buffer.write_bytes(data)

    def deserialize(self, buffer: Any, *args: Any, **kwargs: Any) -> bytes:
        buffer.align(4)
        return buffer.read_bytes(buffer.read("I", 4))

    def default_initialize(self) -> bytes:
        return b""


def octet_members(datatype: type, *members: str) -> type:
    """Make ``members`` (each declared ``sequence[uint8]``) of ``datatype`` read and write bytes."""
    idl = datatype.__idl__  # type: ignore[attr-defined]
    idl.populate()
    for machine in (idl.v1_machine, idl.v2_machine):
        for name in members:
            if not isinstance(machine.members_machines.get(name), PlainCdrV2SequenceOfPrimitiveMachine):
                raise TypeError(f"{datatype.__name__}.{name} is not a sequence of a primitive type")
            machine.members_machines[name] = OctetSequenceMachine()
    return datatype
