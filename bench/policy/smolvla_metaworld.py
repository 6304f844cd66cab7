"""A small SmolVLA for the Meta-World demonstrations: its config, tokens and normalization, offline.

The policy is LeRobot's own ``SmolVLAPolicy`` on a reduced SmolVLM (the real architecture at small
widths, as ``docs/research/smolvla/build_tiny.py`` builds it): one 64x64 camera (the demos' image)
cut into 8x8 patches, 16 visual tokens after the connector, a Llama text model of 8 layers that
SmolVLA keeps whole, an action expert at 0.75 of its width, 8-action chunks, 10 flow-matching steps.

LeRobot normalizes state and actions in its processor pipeline, outside the policy; here that is the
package's :class:`~edgecompress.models.smolvla_data.Codec`: mean/std of the training frames, and a
word-level tokenizer over the five instructions (ids 3-18 of the 64-token vocabulary, pad 2; the model
reads token ids only). It is saved as ``codec.json`` beside the policy's ``config.json``, so the
evaluation decodes exactly what training encoded and ``edgecompress compile --data`` can encode the demos.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgecompress.models.smolvla_data import Codec

CAMERA = "observation.images.corner"
VOCAB_SIZE = 64
PAD_ID = 2  # the SmolVLM text config's pad token
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


def observation(codec: Codec, image: np.ndarray, instruction: str, state: np.ndarray) -> Any:
    """One simulator observation as the package's SmolVLA ``Observation`` (images in [0, 1], B = 1)."""
    return codec.observation(image, instruction, state, LANG_LENGTH)


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
