"""What a compile has finished so far, so ``--resume`` continues after the last finished stage.

Kept in ``<out>.work/progress.json`` beside the output folder; the key ties it to one model,
recipe, image size and data, so a changed command starts afresh instead of reusing stale stages.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass
class FinishedStage:
    """One finished stage: its checkpoint, report details and wall time."""

    index: int
    name: str
    checkpoint: str
    details: dict[str, Any]
    wall_s: float


def progress_key(model_sha256: str, stages: list[dict[str, Any]], imgsz: int, data_yaml: Path) -> str:
    """A digest of everything that decides what the stages produce."""
    blob = json.dumps([model_sha256, stages, imgsz, str(Path(data_yaml).resolve())], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class StageProgress:
    """Reads and appends ``progress.json`` in the compile's work folder."""

    def __init__(self, work_dir: Path, key: str) -> None:
        self.path = work_dir / "progress.json"
        self.key = key
        data = json.loads(self.path.read_text()) if self.path.exists() else {}
        stages = data.get("stages", []) if data.get("key") == key else []
        self.finished = {s["index"]: FinishedStage(**s) for s in stages if Path(s["checkpoint"]).exists()}

    def get(self, index: int) -> FinishedStage | None:
        """The finished stage ``index``, if any."""
        return self.finished.get(index)

    def record(self, stage: FinishedStage) -> None:
        """Mark ``stage`` finished (written atomically)."""
        self.finished[stage.index] = stage
        payload = {
            "key": self.key,
            "stages": [asdict(s) for s in sorted(self.finished.values(), key=lambda s: s.index)],
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=2, default=str))
        tmp.replace(self.path)
