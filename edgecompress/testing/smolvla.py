"""A tiny SmolVLA (LeRobot's own code, a few layers, small widths, a 32 px camera) built offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# a SmolVLM of the real architecture at toy sizes: 16 patches → 4 visual tokens per camera
TINY_VLM: dict[str, Any] = {
    "vision_config": {
        "model_type": "smolvlm_vision",
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": 32,
        "patch_size": 8,
        "hidden_act": "gelu_pytorch_tanh",
        "layer_norm_eps": 1e-6,
    },
    "text_config": {
        "model_type": "llama",
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 6,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "vocab_size": 96,
        "rms_norm_eps": 1e-5,
        "max_position_embeddings": 256,
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "pad_token_id": 2,
    },
    "scale_factor": 2,
    "image_token_id": 95,
    "tie_word_embeddings": False,
}


def tiny_smolvla_config(**overrides: Any) -> Any:
    """A ``SmolVLAConfig`` for the tiny backbone: one 24x32 camera, 6-d state and action, 4 VLM layers."""
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.smolvla.configuration_smolvla import SmolVLAConfig

    settings: dict[str, Any] = {
        "vlm_model_name": "vlm",
        "device": "cpu",
        "input_features": {
            "observation.images.top": PolicyFeature(type=FeatureType.VISUAL, shape=(3, 24, 32)),
            "observation.state": PolicyFeature(type=FeatureType.STATE, shape=(6,)),
        },
        "output_features": {"action": PolicyFeature(type=FeatureType.ACTION, shape=(6,))},
        "resize_imgs_with_padding": (32, 32),
        "chunk_size": 8,
        "n_action_steps": 8,
        "num_steps": 3,
        "num_vlm_layers": 4,
        "tokenizer_max_length": 8,
    }
    return SmolVLAConfig(**{**settings, **overrides})


def write_tiny_smolvla(
    folder: Path, seed: int = 0, vision: dict[str, Any] | None = None, **overrides: Any
) -> Path:
    """Build a seeded tiny SmolVLA and ``save_pretrained`` it (with its backbone config) into ``folder``;
    ``vision`` overrides entries of the tiny vision tower's config (e.g. a larger ``image_size``)."""
    import torch
    from transformers import SmolVLMConfig

    from edgecompress.models.lerobot_compat import offline_vlm, require_lerobot
    from edgecompress.models.smolvla import save_smolvla

    require_lerobot()
    from lerobot.policies.smolvla.modeling_smolvla import SmolVLAPolicy

    config = tiny_smolvla_config(**overrides)
    torch.manual_seed(seed)
    backbone = {**TINY_VLM, "vision_config": {**TINY_VLM["vision_config"], **(vision or {})}}
    with offline_vlm(SmolVLMConfig(**backbone)):
        policy = SmolVLAPolicy(config)
    return save_smolvla(policy.eval(), folder)


def write_reaching_smolvla(folder: Path, seed: int = 0, **overrides: Any) -> Path:
    """A tiny SmolVLA shaped for :func:`edgecompress.testing.policy.reaching_demos` (one 16x16 camera,
    4-d state and action) with the ``codec.json`` of those demos' train split beside it."""
    from lerobot.configs.types import FeatureType, PolicyFeature

    from edgecompress.models.smolvla_data import Codec
    from edgecompress.testing.policy import reaching_demonstrations

    features = {
        "input_features": {
            "observation.images.top": PolicyFeature(type=FeatureType.VISUAL, shape=(3, 16, 16)),
            "observation.state": PolicyFeature(type=FeatureType.STATE, shape=(4,)),
        },
        "output_features": {"action": PolicyFeature(type=FeatureType.ACTION, shape=(4,))},
    }
    write_tiny_smolvla(folder, seed, **{**features, **overrides})
    train, _ = reaching_demonstrations().split()
    Codec.fit(train.instructions, train.states, train.actions).save(folder)
    return folder
