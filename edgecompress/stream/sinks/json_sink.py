"""``--sink json``: one JSON object per processed frame (JSON Lines) on stdout or into ``--out``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from edgecompress.errors import InputError
from edgecompress.stream.sinks.base import FrameResult, Sink


def frame_record(result: FrameResult) -> dict:
    """The JSON form of one processed frame."""
    return {
        "frame": result.frame.index,
        "stamp_ns": result.frame.stamp_ns,
        "latency_ms": round(result.latency_seconds * 1e3, 3),
        "infer_ms": round(result.infer_seconds * 1e3, 3),
        **result.detections.to_dict(),
    }


class JsonSink(Sink):
    """Writes JSON Lines, flushed per frame so a reader downstream sees each frame at once."""

    name = "json"

    def __init__(self, out: str | Path | None = None) -> None:
        if out is None or str(out) == "-":
            self._file: TextIO = sys.stdout
            self._owned = False
        else:
            try:
                self._file = open(out, "w")  # noqa: SIM115 - closed in close()
            except OSError as exc:
                raise InputError(f"cannot write {out}: {exc.strerror}", "pass a writable --out path") from exc
            self._owned = True

    def send(self, result: FrameResult) -> None:
        self._file.write(json.dumps(frame_record(result)) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._owned:
            self._file.close()
