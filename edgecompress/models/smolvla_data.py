"""Demonstrations for a SmolVLA policy: what LeRobot's processor does outside the policy, and the checks.

LeRobot tokenizes the task and normalizes state and actions in its processor pipeline, not in
``SmolVLAPolicy``; a policy folder therefore needs its own record of that encoding before
demonstrations can train or calibrate it. Here it is :class:`Codec`, saved as ``codec.json`` beside
the policy's ``config.json``: a word-level tokenizer over the task instructions (id ``first_id`` +
the word's index in ``vocab``, padded with ``pad_id``) and the mean/std of the training states and
actions. :func:`load_smolvla_demos` reads a demonstrations ``.npz`` (:mod:`policy_data`) and the
codec, checks both against the policy's shapes with one clear error line each, and serves the
frames as LeRobot's training batches and as :class:`Observation` s.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgecompress.errors import InputError
from edgecompress.models.policy_data import Demonstrations, load_demonstrations
from edgecompress.models.smolvla_observation import Observation

CODEC_FILE = "codec.json"


@dataclass(frozen=True)
class Codec:
    """Tokens of the task instructions and normalization of state and actions (LeRobot's processor)."""

    vocab: list[str]
    state_mean: list[float]
    state_std: list[float]
    action_mean: list[float]
    action_std: list[float]
    pad_id: int = 2  # SmolVLM's text config's pad token
    first_id: int = 3  # id of vocab[0]

    @classmethod
    def fit(cls, instructions: list[str], states: np.ndarray, actions: np.ndarray) -> Codec:
        """Vocabulary of ``instructions``' words; mean/std of the training ``states`` and ``actions``."""
        words = sorted({w for text in instructions for w in text.lower().split()})
        std = lambda a: np.maximum(a.std(0), 1e-3).tolist()  # noqa: E731
        return cls(words, states.mean(0).tolist(), std(states), actions.mean(0).tolist(), std(actions))

    def tokens(self, instruction: str, length: int) -> tuple[np.ndarray, np.ndarray]:
        """(1, length) int64 ids and bool mask of ``instruction``, cut at ``length`` words as LeRobot's
        tokenizer truncates; a word outside the vocabulary raises ValueError."""
        ids = [self.first_id + self.vocab.index(w) for w in instruction.lower().split()][:length]
        tokens = np.full((1, length), self.pad_id, np.int64)
        tokens[0, : len(ids)] = ids
        return tokens, np.arange(length)[None] < len(ids)

    def state(self, state: np.ndarray) -> np.ndarray:
        """Normalized state, float32."""
        return ((state - np.asarray(self.state_mean)) / np.asarray(self.state_std)).astype(np.float32)

    def action(self, action: np.ndarray) -> np.ndarray:
        """Normalized action, float32."""
        return ((action - np.asarray(self.action_mean)) / np.asarray(self.action_std)).astype(np.float32)

    def unaction(self, action: np.ndarray) -> np.ndarray:
        """The policy's normalized action back in the demonstrations' units."""
        return (action * np.asarray(self.action_std) + np.asarray(self.action_mean)).astype(np.float32)

    def observation(self, image: np.ndarray, instruction: str, state: np.ndarray, length: int) -> Observation:
        """One frame (image (H, W, 3) uint8, its task, state (s,)) as a single :class:`Observation`."""
        pixels = (image.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        tokens, mask = self.tokens(instruction, length)
        return Observation((np.ascontiguousarray(pixels),), tokens, mask, self.state(state)[None])

    def save(self, folder: Path) -> None:
        """Write ``codec.json`` into the policy folder."""
        (folder / CODEC_FILE).write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, folder: Path) -> Codec:
        """Read ``codec.json`` from the policy folder; InputError if it is missing or malformed."""
        path = folder / CODEC_FILE
        hint = f"save the tokenizer vocabulary and normalization the policy was trained with as {path}"
        if not path.is_file():
            raise InputError(f"{folder} has no {CODEC_FILE}: demonstrations cannot be encoded", hint)
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise InputError(f"{path} is not a codec: {str(exc).splitlines()[0][:160]}", hint) from exc


@dataclass
class SmolVLADemos:
    """Demonstrations split into train and held-out frames, encoded for one SmolVLA policy."""

    train: Demonstrations
    val: Demonstrations
    codec: Codec
    camera: str  # the policy's one camera key
    chunk_size: int
    lang_length: int

    def observations(self, demos: Demonstrations) -> list[Observation]:
        """One single-frame :class:`Observation` per frame of ``demos`` (images in [0, 1])."""
        task = demos.instructions
        return [
            self.codec.observation(
                demos.images[i], task[int(demos.task_ids[i])], demos.states[i], self.lang_length
            )
            for i in range(len(demos))
        ]

    def calibration(self, count: int, seed: int = 0) -> list[Observation]:
        """A seeded sample of ``count`` training frames as observations (layer importance)."""
        return self.observations(self.train.sample(count, seed))

    def batches(self, demos: Demonstrations, batch: int, seed: int) -> Iterator[dict[str, Any]]:
        """Endless seeded minibatches of ``demos`` as LeRobot's pre-processor hands them to the policy."""
        import torch

        images = torch.from_numpy(demos.images).permute(0, 3, 1, 2).contiguous()  # uint8 (N, 3, H, W)
        states = torch.from_numpy(self.codec.state(demos.states))
        actions = torch.from_numpy(self.codec.action(demos.chunks(self.chunk_size)))
        rows = [self.codec.tokens(str(t), self.lang_length) for t in demos.instructions]
        tokens = torch.from_numpy(np.concatenate([t for t, _ in rows]))
        masks = torch.from_numpy(np.concatenate([m for _, m in rows]))
        task = torch.from_numpy(demos.task_ids.astype(np.int64))
        rng = np.random.default_rng(seed)
        while True:
            picked = torch.from_numpy(rng.permutation(len(demos))[:batch])
            yield {
                self.camera: images[picked].float() / 255.0,
                "observation.state": states[picked],
                "observation.language.tokens": tokens[task[picked]],
                "observation.language.attention_mask": masks[task[picked]],
                "action": actions[picked],
            }


def load_smolvla_demos(data: str | Path, meta: dict[str, Any], policy_folder: Path) -> SmolVLADemos:
    """Read ``data`` and the policy folder's codec and check both against the policy's ``meta``
    (:meth:`SmolVLAAdapter.meta`); one InputError naming the mismatch otherwise."""
    demos = load_demonstrations(data)
    codec = Codec.load(policy_folder)
    hint = "pass the demonstrations and codec the policy was trained with"
    if len(meta["cameras"]) != 1:
        raise InputError(
            f"{data} holds one camera per frame; the policy takes {len(meta['cameras'])} "
            f"({', '.join(meta['cameras'])})",
            hint,
        )
    channels, height, width = meta["camera_shapes"][0]
    if demos.images.ndim != 4 or demos.images.shape[1:] != (height, width, channels):
        raise InputError(
            f"{data} holds images of shape {demos.images.shape[1:]}; the policy's camera "
            f"{meta['cameras'][0]} takes {height}x{width}x{channels}",
            hint,
        )
    sizes = {
        "state": (demos.states.shape[1], len(codec.state_mean), len(codec.state_std), meta["state_dim"]),
        "action": (demos.actions.shape[1], len(codec.action_mean), len(codec.action_std), meta["action_dim"]),
    }
    for name, (given, mean, std, policy) in sizes.items():
        if not given == mean == std == policy:
            raise InputError(
                f"{name} sizes differ: demonstrations {given}, {CODEC_FILE} {mean}/{std}, policy {policy}",
                hint,
            )
    if codec.first_id + len(codec.vocab) > int(meta["vocab_size"]) or codec.pad_id >= int(meta["vocab_size"]):
        raise InputError(
            f"{CODEC_FILE}'s token ids reach {codec.first_id + len(codec.vocab) - 1}; the policy's "
            f"vocabulary has {meta['vocab_size']}",
            hint,
        )
    for text in demos.instructions:
        unknown = sorted({w for w in str(text).lower().split() if w not in codec.vocab})
        if unknown:
            raise InputError(
                f"instruction {text!r} of {data} has words {CODEC_FILE} does not know: {', '.join(unknown)}",
                hint,
            )
    train, val = demos.split()
    if not len(train) or not len(val):
        raise InputError(f"{data} has too few episodes to hold some out ({len(demos)} frames)", hint)
    camera = str(meta["cameras"][0])
    return SmolVLADemos(train, val, codec, camera, int(meta["chunk_size"]), int(meta["lang_length"]))
