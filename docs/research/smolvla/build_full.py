"""Write a full-size SmolVLA (450 M parameters, random weights, seeded) as a save_pretrained folder.

One 480x640 camera, 6-d state and action, every other setting LeRobot 0.4.4's default (SmolVLM2-500M
backbone cut to 16 layers, chunk 50, 10 denoising steps). Built offline through edgecompress'
lerobot_compat. Usage: python docs/research/smolvla/build_full.py OUT_FOLDER
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from edgecompress.models.lerobot_compat import offline_vlm, require_lerobot
from edgecompress.models.smolvla import save_smolvla
from edgecompress.models.smolvla_vlm import SMOLVLM2_500M


def main(out: Path) -> None:
    require_lerobot()
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.smolvla.configuration_smolvla import SmolVLAConfig
    from lerobot.policies.smolvla.modeling_smolvla import SmolVLAPolicy
    from transformers import SmolVLMConfig

    config = SmolVLAConfig(
        device="cpu",
        input_features={
            "observation.images.top": PolicyFeature(type=FeatureType.VISUAL, shape=(3, 480, 640)),
            "observation.state": PolicyFeature(type=FeatureType.STATE, shape=(6,)),
        },
        output_features={"action": PolicyFeature(type=FeatureType.ACTION, shape=(6,))},
    )
    torch.manual_seed(0)
    started = time.perf_counter()
    with offline_vlm(SmolVLMConfig(**SMOLVLM2_500M)):
        policy = SmolVLAPolicy(config).eval()
    save_smolvla(policy, out)
    params = sum(p.numel() for p in policy.parameters())
    print(f"{out}: {params / 1e6:.1f} M parameters, built and saved in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
