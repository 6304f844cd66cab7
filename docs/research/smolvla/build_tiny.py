"""Write the tiny SmolVLA the token_prune / feature_cache measurements use (as in
tests/integration/test_smolvla_loop_passes.py, with LeRobot's 10 denoising steps and 6 layer pairs):
two 48x64 cameras resized to 64 px (16 visual tokens each), random seeded weights.
Usage: python docs/research/smolvla/build_tiny.py OUT_FOLDER
"""

from __future__ import annotations

import sys
from pathlib import Path

from edgecompress.models.lerobot_compat import require_lerobot
from edgecompress.testing.smolvla import write_tiny_smolvla


def main(out: Path) -> None:
    require_lerobot()
    from lerobot.configs.types import FeatureType, PolicyFeature

    features = {
        f"observation.images.{name}": PolicyFeature(type=FeatureType.VISUAL, shape=(3, 48, 64))
        for name in ("top", "wrist")
    }
    features["observation.state"] = PolicyFeature(type=FeatureType.STATE, shape=(6,))
    write_tiny_smolvla(
        out,
        vision={"image_size": 64},
        input_features=features,
        resize_imgs_with_padding=(64, 64),
        num_vlm_layers=6,
        num_steps=10,
    )
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
