"""A small SmolVLA for the Meta-World demonstrations: its config, tokens and normalization, offline.

The policy is LeRobot's own ``SmolVLAPolicy`` on a reduced SmolVLM (the real architecture at small
widths, as ``docs/research/smolvla/build_tiny.py`` builds it): one 64x64 camera (the demos' image)
cut into 8x8 patches, 16 visual tokens after the connector, a Llama text model of 8 layers that
SmolVLA keeps whole, an action expert at 0.75 of its width, 8-action chunks, 10 flow-matching steps.

LeRobot normalizes state and actions in its processor pipeline, outside the policy; here that is
:class:`Codec`: mean/std of the training frames, and a word-level tokenizer over the five
instructions (the model reads token ids only). Both are saved as ``metaworld.json`` beside the
policy's ``config.json`` so the evaluation decodes exactly what training encoded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CAMERA = "observation.images.corner"
CODEC_FILE = "metaworld.json"
VOCAB_SIZE = 64
PAD_ID = 2  # the SmolVLM text config's pad token
FIRST_WORD_ID = 3
LANG_LENGTH = 8

# SmolVLM at small widths: SigLIP-style tower at 64 px, a SmolLM2-style Llama text model
SMALL_VLM: dict[str, Any] = {
    "vision_config": {
        "model_type": "smolvlm_vision",
        "hidden_size": 64,
        "intermediate_size": 256,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "image_size": 64,
        "patch_size": 8,
        "hidden_act": "gelu_pytorch_tanh",
        "layer_norm_eps": 1e-6,
    },
    "text_config": {
        "model_type": "llama",
        "hidden_size": 128,
        "intermediate_size": 384,
        "num_hidden_layers": 8,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 32,
        "vocab_size": VOCAB_SIZE,
        "rms_norm_eps": 1e-5,
        "max_position_embeddings": 256,
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "pad_token_id": PAD_ID,
    },
    "scale_factor": 2,
    "image_token_id": VOCAB_SIZE - 1,
    "tie_word_embeddings": False,
}


@dataclass(frozen=True)
class Codec:
    """What LeRobot's pre/post-processors do for this policy: tokens, state and action normalization."""

    vocab: list[str]
    state_mean: list[float]
    state_std: list[float]
    action_mean: list[float]
    action_std: list[float]

    @classmethod
    def fit(cls, instructions: list[str], states: np.ndarray, actions: np.ndarray) -> Codec:
        """Vocabulary of ``instructions``' words; mean/std of the training states and actions."""
        words = sorted({w for text in instructions for w in text.lower().split()})
        if FIRST_WORD_ID + len(words) >= VOCAB_SIZE - 1:
            raise ValueError(f"{len(words)} words do not fit the {VOCAB_SIZE}-token vocabulary")
        std = lambda a: np.maximum(a.std(0), 1e-3).tolist()  # noqa: E731
        return cls(words, states.mean(0).tolist(), std(states), actions.mean(0).tolist(), std(actions))

    def tokens(self, instruction: str) -> tuple[np.ndarray, np.ndarray]:
        """(1, LANG_LENGTH) int64 ids and bool mask of ``instruction`` (unknown words are refused)."""
        ids = [FIRST_WORD_ID + self.vocab.index(w) for w in instruction.lower().split()][:LANG_LENGTH]
        tokens = np.full((1, LANG_LENGTH), PAD_ID, np.int64)
        tokens[0, : len(ids)] = ids
        return tokens, np.arange(LANG_LENGTH)[None] < len(ids)

    def state(self, state: np.ndarray) -> np.ndarray:
        """Normalized state, float32."""
        return ((state - np.asarray(self.state_mean)) / np.asarray(self.state_std)).astype(np.float32)

    def action(self, action: np.ndarray) -> np.ndarray:
        """Normalized action, float32."""
        return ((action - np.asarray(self.action_mean)) / np.asarray(self.action_std)).astype(np.float32)

    def unaction(self, action: np.ndarray) -> np.ndarray:
        """The policy's normalized action back in the simulator's units."""
        return (action * np.asarray(self.action_std) + np.asarray(self.action_mean)).astype(np.float32)

    def save(self, folder: Path) -> None:
        """Write ``metaworld.json`` into the policy folder."""
        (folder / CODEC_FILE).write_text(json.dumps(self.__dict__, indent=1) + "\n")

    @classmethod
    def load(cls, folder: Path) -> Codec:
        """Read ``metaworld.json`` from the policy folder."""
        return cls(**json.loads((folder / CODEC_FILE).read_text()))


def observation(codec: Codec, image: np.ndarray, instruction: str, state: np.ndarray) -> Any:
    """One simulator observation as the package's SmolVLA ``Observation`` (images in [0, 1], B = 1)."""
    from edgecompress.models.smolvla_observation import Observation

    pixels = (image.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
    tokens, mask = codec.tokens(instruction)
    return Observation((np.ascontiguousarray(pixels),), tokens, mask, codec.state(state)[None])


def small_smolvla_config(image_size: int, state_dim: int, action_dim: int, horizon: int) -> Any:
    """``SmolVLAConfig`` for the small backbone: every part trained (no frozen VLM or vision tower)."""
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.smolvla.configuration_smolvla import SmolVLAConfig

    return SmolVLAConfig(
        vlm_model_name="vlm",
        device="cpu",
        input_features={
            CAMERA: PolicyFeature(type=FeatureType.VISUAL, shape=(3, image_size, image_size)),
            "observation.state": PolicyFeature(type=FeatureType.STATE, shape=(state_dim,)),
        },
        output_features={"action": PolicyFeature(type=FeatureType.ACTION, shape=(action_dim,))},
        resize_imgs_with_padding=(image_size, image_size),
        chunk_size=horizon,
        n_action_steps=horizon,
        num_steps=10,
        num_vlm_layers=int(SMALL_VLM["text_config"]["num_hidden_layers"]),
        tokenizer_max_length=LANG_LENGTH,
        load_vlm_weights=False,
        freeze_vision_encoder=False,
        train_expert_only=False,
    )


def build_small_smolvla(image_size: int, state_dim: int, action_dim: int, horizon: int, seed: int) -> Any:
    """A freshly initialized ``SmolVLAPolicy`` on :data:`SMALL_VLM` (seeded), built offline."""
    import torch
    from transformers import SmolVLMConfig

    from edgecompress.models.lerobot_compat import offline_vlm, require_lerobot

    require_lerobot()
    from lerobot.policies.smolvla.modeling_smolvla import SmolVLAPolicy

    config = small_smolvla_config(image_size, state_dim, action_dim, horizon)
    torch.manual_seed(seed)
    with offline_vlm(SmolVLMConfig(**SMALL_VLM)):
        return SmolVLAPolicy(config)
