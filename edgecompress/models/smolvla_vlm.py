"""The VLM config a SmolVLA policy is built on, found without the Hub.

A SmolVLA ``config.json`` names its VLM by ``vlm_model_name``: a Hub id (``HuggingFaceTB/SmolVLM2-500M-
Video-Instruct`` for every released SmolVLA) or a local folder. The weights always come from the
policy's own ``model.safetensors``; only the architecture is needed, so the known Hub ids map to
configs written here and a local folder is read for its ``config.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgecompress.errors import InputError

# SmolVLM2-500M: SigLIP-B/16 at 512 px, a SmolLM2-360M-shaped text model (SmolVLA keeps its first layers)
SMOLVLM2_500M: dict[str, Any] = {
    "vision_config": {
        "model_type": "smolvlm_vision",
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "image_size": 512,
        "patch_size": 16,
        "hidden_act": "gelu_pytorch_tanh",
        "layer_norm_eps": 1e-6,
    },
    "text_config": {
        "model_type": "llama",
        "hidden_size": 960,
        "intermediate_size": 2560,
        "num_hidden_layers": 32,
        "num_attention_heads": 15,
        "num_key_value_heads": 5,
        "head_dim": 64,
        "vocab_size": 49280,
        "rms_norm_eps": 1e-5,
        "max_position_embeddings": 8192,
        "hidden_act": "silu",
        "rope_parameters": {"rope_type": "default", "rope_theta": 100000.0},
        "tie_word_embeddings": False,
        "pad_token_id": 2,
    },
    "scale_factor": 4,
    "image_token_id": 49190,
    "tie_word_embeddings": False,
}
KNOWN_VLMS = {"HuggingFaceTB/SmolVLM2-500M-Video-Instruct": SMOLVLM2_500M}


def vlm_config(name: str, policy_folder: Path) -> Any:
    """The ``SmolVLMConfig`` of ``name``: a known Hub id, or a folder (relative to the policy, else cwd)."""
    from transformers import SmolVLMConfig

    for folder in (policy_folder / name, Path(name)):
        if (folder / "config.json").is_file():
            try:
                return SmolVLMConfig.from_pretrained(str(folder), local_files_only=True)
            except (OSError, ValueError) as exc:
                raise InputError(
                    f"{folder / 'config.json'} is not a SmolVLM config: {exc}",
                    "point vlm_model_name to the folder the VLM was saved in",
                ) from exc
    if name in KNOWN_VLMS:
        return SmolVLMConfig(**KNOWN_VLMS[name])
    raise InputError(
        f"unknown SmolVLA backbone {name!r} (edgecompress never downloads it)",
        f"use one of {', '.join(KNOWN_VLMS)}, or a local folder with the VLM's config.json",
    )
