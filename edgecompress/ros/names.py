"""ROS 2 names on DDS: topic name validation (rcl/rmw rules), ``rt/`` topic names, ``ROS_DOMAIN_ID``."""

from __future__ import annotations

import os
import re

from edgecompress.errors import InputError

MAX_TOPIC_LENGTH = 247  # rmw's RMW_TOPIC_MAX_NAME_LENGTH: 255 less room for the "rt/" style prefixes
MAX_DOMAIN_ID = 232  # the largest id whose RTPS ports (7400 + 250 * id + ...) fit in 16 bits
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIX = "a ROS 2 topic name is /tokens/of/letters_digits_and_underscores, e.g. /camera/image_raw"


def full_topic_name(name: str) -> str:
    """The fully qualified ROS 2 name of ``name`` (no node namespace: ``a/b`` is ``/a/b``).

    Raises an InputError for a name ROS 2 would reject (rmw_validate_full_topic_name's rules) or one
    that needs a node to expand (``~`` private names, ``{node}`` substitutions).
    """
    if not name:
        raise InputError("empty ROS 2 topic name", _FIX)
    if name.startswith("~") or "{" in name or "}" in name:
        raise InputError(
            f"ROS 2 topic name {name!r} needs a node to expand (~ or {{substitution}})",
            "pass the full name, e.g. /camera/image_raw",
        )
    full = name if name.startswith("/") else "/" + name
    problem = _problem(full)
    if problem:
        raise InputError(f"invalid ROS 2 topic name {name!r}: {problem}", _FIX)
    return full


def _problem(full: str) -> str | None:
    """Why the absolute name ``full`` is not a valid ROS 2 topic name (None when it is)."""
    if len(full) > MAX_TOPIC_LENGTH:
        return f"longer than {MAX_TOPIC_LENGTH} characters"
    if full.endswith("/"):
        return "ends with '/'"
    if "//" in full:
        return "contains '//'"
    bad = sorted({c for c in full if not (c.isascii() and (c.isalnum() or c in "_/"))})
    if bad:
        return f"contains {''.join(bad)!r} (only letters, digits, '_' and '/' are allowed)"
    for token in full[1:].split("/"):
        if not _TOKEN.fullmatch(token):
            return f"the part {token!r} starts with a digit"
    return None


def dds_topic_name(name: str) -> str:
    """The DDS topic of ROS 2 topic ``name``: ``/camera/image_raw`` -> ``rt/camera/image_raw``."""
    return "rt" + full_topic_name(name)


def domain_id(environ: dict[str, str] | None = None) -> int:
    """The ROS 2 domain id from ``ROS_DOMAIN_ID`` (0 when unset or empty, as in ROS 2)."""
    raw = (os.environ if environ is None else environ).get("ROS_DOMAIN_ID", "").strip()
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > MAX_DOMAIN_ID:
        raise InputError(
            f"invalid ROS_DOMAIN_ID {raw!r}",
            f"set it to an integer from 0 to {MAX_DOMAIN_ID} (the robot's domain), or unset it for 0",
        )
    return int(raw)
