"""Demonstrations for policies: one ``.npz`` of frames, split by episode, served as action chunks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgecompress.errors import InputError

REQUIRED = ("images", "states", "actions", "episode_ids", "task_ids", "instructions")


@dataclass
class Demonstrations:
    """Frames of expert episodes: images (N, S, S, 3) uint8, states (N, s), actions (N, a)."""

    images: np.ndarray
    states: np.ndarray
    actions: np.ndarray
    episode_ids: np.ndarray
    task_ids: np.ndarray
    instructions: list[str]  # one per task id
    # a subset remembers the whole recording and its rows there, so chunks come from whole episodes
    parent: Demonstrations | None = field(default=None, repr=False)
    rows: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, rows: np.ndarray) -> Demonstrations:
        """The frames at ``rows``; their action chunks still come from their whole episodes."""
        root = self.parent if self.parent is not None else self
        in_root = self.rows[rows] if self.rows is not None else np.asarray(rows)
        return Demonstrations(
            self.images[rows],
            self.states[rows],
            self.actions[rows],
            self.episode_ids[rows],
            self.task_ids[rows],
            self.instructions,
            root,
            in_root,
        )

    def split(self, val_fraction: float = 0.2) -> tuple[Demonstrations, Demonstrations]:
        """(train, val): the last ``val_fraction`` of each task's episodes are held out."""
        val_rows = np.zeros(len(self), dtype=bool)
        for task in np.unique(self.task_ids):
            episodes = np.unique(self.episode_ids[self.task_ids == task])
            held = episodes[len(episodes) - max(1, round(len(episodes) * val_fraction)) :]
            val_rows |= np.isin(self.episode_ids, held)
        return self.subset(np.flatnonzero(~val_rows)), self.subset(np.flatnonzero(val_rows))

    def chunks(self, horizon: int) -> np.ndarray:
        """Expert action chunk (N, horizon, a) from every frame, padded with the episode's last action."""
        if self.parent is not None and self.rows is not None:
            return self.parent.chunks(horizon)[self.rows]
        index = np.arange(len(self))[:, None] + np.arange(horizon)[None]
        index = np.minimum(index, len(self) - 1)
        same_episode = self.episode_ids[index] == self.episode_ids[:, None]
        # past the episode's end: repeat the last in-episode position
        last = np.maximum.accumulate(np.where(same_episode, index, 0), axis=1)
        return self.actions[last]

    def sample(self, count: int, seed: int = 0) -> Demonstrations:
        """``count`` frames drawn without replacement (all if fewer), in a seeded order."""
        rows = np.random.default_rng(seed).permutation(len(self))[:count]
        return self.subset(np.sort(rows))


def load_demonstrations(path: str | Path) -> Demonstrations:
    """Read a demonstrations ``.npz``; one clear error for a missing file or a missing array."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"demonstrations not found: {path}", "pass the .npz written by your demo collector")
    if path.suffix != ".npz":
        raise InputError(f"{path} is not a .npz file", "policies take demonstrations as a .npz (see README)")
    try:
        arrays = np.load(path, allow_pickle=False)
        data = {key: arrays[key] for key in arrays.files}
    except Exception as exc:  # zipfile/numpy raise several types for a damaged file
        raise InputError(f"cannot read {path}: {exc}", "the file is corrupt; write it again") from exc
    if missing := [key for key in REQUIRED if key not in data]:
        raise InputError(
            f"{path} lacks {', '.join(missing)}",
            f"a demonstrations .npz needs the arrays {', '.join(REQUIRED)}",
        )
    images = data["images"]
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise InputError(
            f"{path}: images must be uint8 (N, H, W, 3), got {images.dtype} {images.shape}",
            "store RGB frames as uint8",
        )
    count = len(images)
    if any(len(data[key]) != count for key in REQUIRED[1:5]):
        raise InputError(f"{path}: arrays have different numbers of frames", "write one row per frame")
    return Demonstrations(
        images,
        data["states"].astype(np.float32),
        data["actions"].astype(np.float32),
        data["episode_ids"].astype(np.int64),
        data["task_ids"].astype(np.int64),
        [str(text) for text in data["instructions"]],
    )
