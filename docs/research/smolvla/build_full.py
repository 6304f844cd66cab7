"""Write a full-size SmolVLA (450 M parameters, random weights, seeded) as a save_pretrained folder.

One 480x640 camera, 6-d state and action, every other setting LeRobot 0.4.4's default (SmolVLM2-500M
backbone cut to 16 layers, chunk 50, 10 denoising steps). Built offline through edgecompress'
lerobot_compat. Usage: python docs/research/smolvla/build_full.py OUT_FOLDER

``--metaworld`` shapes it for the Meta-World closed loop (``bench/policy/smolvla_metaworld_eval.py``):
Meta-World's 4-d state (hand xyz, gripper) and 4-d action, the camera key ``observation.images.corner``
(still ``--height`` x ``--width``, 480x640 by default), and a ``codec.json`` beside ``config.json``
(the five demo instructions' words, mean/std of the demos' train-split states and actions). The
parameter shapes do not change (state and action are padded to ``max_state_dim`` / ``max_action_dim``
32), so the seeded weights are the same. ``--tiny-backbone`` builds the tests' tiny SmolVLM instead
of SmolVLM2-500M, to check the pipeline in seconds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from edgecompress.models.lerobot_compat import offline_vlm, require_lerobot
from edgecompress.models.smolvla import save_smolvla
from edgecompress.models.smolvla_vlm import SMOLVLM2_500M

DEMOS = Path(__file__).resolve().parents[3] / "bench" / "policy" / "data" / "metaworld-demos.npz"


def main(args: argparse.Namespace) -> None:
    require_lerobot()
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.smolvla.configuration_smolvla import SmolVLAConfig
    from lerobot.policies.smolvla.modeling_smolvla import SmolVLAPolicy
    from transformers import SmolVLMConfig

    dim, camera = (4, "corner") if args.metaworld else (6, "top")
    features = {
        "input_features": {
            f"observation.images.{camera}": PolicyFeature(
                type=FeatureType.VISUAL, shape=(3, args.height, args.width)
            ),
            "observation.state": PolicyFeature(type=FeatureType.STATE, shape=(dim,)),
        },
        "output_features": {"action": PolicyFeature(type=FeatureType.ACTION, shape=(dim,))},
    }
    started = time.perf_counter()
    if args.tiny_backbone:
        from edgecompress.testing.smolvla import write_tiny_smolvla

        write_tiny_smolvla(args.out, vision={"image_size": 64}, resize_imgs_with_padding=(64, 64), **features)
    else:
        config = SmolVLAConfig(device="cpu", **features)
        torch.manual_seed(0)
        with offline_vlm(SmolVLMConfig(**SMOLVLM2_500M)):
            policy = SmolVLAPolicy(config).eval()
        save_smolvla(policy, args.out)
        params = sum(p.numel() for p in policy.parameters())
        print(f"{args.out}: {params / 1e6:.1f} M parameters")
    if args.metaworld:
        from edgecompress.models.policy_data import load_demonstrations
        from edgecompress.models.smolvla_data import Codec

        train, _ = load_demonstrations(DEMOS).split()
        Codec.fit(list(train.instructions), train.states, train.actions).save(args.out)
    print(f"{args.out}: built and saved in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--metaworld", action="store_true", help="Meta-World shapes and codec.json")
    parser.add_argument("--height", type=int, default=480, help="camera height in pixels")
    parser.add_argument("--width", type=int, default=640, help="camera width in pixels")
    parser.add_argument("--tiny-backbone", action="store_true", help="tiny SmolVLM: a pipeline check")
    main(parser.parse_args())
