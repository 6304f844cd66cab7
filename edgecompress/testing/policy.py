"""A synthetic reaching task and a tiny reference VLA for fast, deterministic policy tests.

Two coloured squares lie on a grey 16×16 image with a white dot for the gripper; the instruction names
the square to reach, the state is the gripper position and the expert action moves it toward that
square. The language therefore matters: the same image needs different actions per instruction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgecompress.models.policy_data import Demonstrations
from edgecompress.models.vla.config import VLAConfig, vocabulary

INSTRUCTIONS = ["reach the red square", "reach the blue square"]
COLOURS = np.array([[220, 40, 40], [40, 40, 220]], dtype=np.uint8)


def _frame(size: int, squares: np.ndarray, gripper: np.ndarray) -> np.ndarray:
    image = np.full((size, size, 3), 110, dtype=np.uint8)
    for colour, (x, y) in zip(COLOURS, (squares * (size - 3)).astype(int), strict=True):
        image[y : y + 3, x : x + 3] = colour
    gx, gy = np.clip((gripper * (size - 1)).astype(int), 0, size - 1)
    image[gy, gx] = 255
    return image


def reaching_demos(
    episodes: int = 12, steps: int = 12, size: int = 16, seed: int = 0
) -> dict[str, np.ndarray]:
    """Arrays of a demonstrations ``.npz``: ``episodes`` per task of ``steps`` frames each."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {k: [] for k in ("images", "states", "actions", "episode_ids", "task_ids")}
    episode = 0
    for task in range(len(INSTRUCTIONS)):
        for _ in range(episodes):
            squares, gripper = rng.uniform(0.05, 0.95, (2, 2)), rng.uniform(0.05, 0.95, 2)
            for _ in range(steps):
                action = np.clip((squares[task] - gripper) * 4.0, -1.0, 1.0)
                rows["images"].append(_frame(size, squares, gripper))
                rows["states"].append(np.array([*gripper, 0.0, 0.0], dtype=np.float32))
                rows["actions"].append(np.array([*action, 0.0, 0.0], dtype=np.float32))
                rows["episode_ids"].append(episode)
                rows["task_ids"].append(task)
                gripper = gripper + 0.1 * action
            episode += 1
    arrays = {k: np.asarray(v) for k, v in rows.items()}
    arrays["instructions"] = np.asarray(INSTRUCTIONS)
    return arrays


def reaching_demonstrations(**kwargs: int) -> Demonstrations:
    """:func:`reaching_demos` as a :class:`Demonstrations` (no file)."""
    arrays = reaching_demos(**kwargs)
    return Demonstrations(
        arrays["images"],
        arrays["states"],
        arrays["actions"],
        arrays["episode_ids"],
        arrays["task_ids"],
        [str(text) for text in arrays["instructions"]],
    )


def write_reaching_demos(path: Path, **kwargs: int) -> Path:
    """Write :func:`reaching_demos` to ``path`` (.npz)."""
    np.savez_compressed(path, **reaching_demos(**kwargs))
    return path


def tiny_vla_config(**changes: object) -> VLAConfig:
    """A reference VLA small enough to train and compile in seconds."""
    settings: dict[str, object] = {
        "image_size": 16,
        "patch_size": 4,
        "vision_layers": 1,
        "hidden_size": 32,
        "heads": 2,
        "language_layers": 4,
        "vocab": vocabulary(INSTRUCTIONS),
        "max_text_tokens": 4,
        "horizon": 4,
        "head_width": 32,
        "head_layers": 2,
        "head_heads": 2,
        "denoise_steps": 4,
    }
    return VLAConfig.model_validate({**settings, **changes})
