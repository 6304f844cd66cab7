"""Train the reference VLA on demonstrations (flow matching); save an edgecompress policy checkpoint.

    python bench/policy/train_vla.py --demos bench/policy/data/metaworld-demos.npz \
        --out /tmp/vla-metaworld.pt --epochs 20 --max-minutes 40 --threads 1
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from edgecompress.models.policy import PolicyAdapter, action_error, build_policy, complexity
from edgecompress.models.policy_data import load_demonstrations
from edgecompress.models.policy_training import train_policy
from edgecompress.models.vla.config import VLAConfig, vocabulary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demos", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--max-minutes", type=float, default=None)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="VLAConfig field")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    demos = load_demonstrations(args.demos)
    train, val = demos.split()
    settings = {
        "image_size": demos.images.shape[1],
        "vocab": vocabulary(demos.instructions),
        "state_dim": demos.states.shape[1],
        "action_dim": demos.actions.shape[1],
    }
    for item in args.set:
        key, _, value = item.partition("=")
        settings[key] = json.loads(value)
    config = VLAConfig.model_validate(settings)
    policy = PolicyAdapter(Path(args.out), build_policy(config, args.seed))
    print(f"train {len(train)} frames, val {len(val)}; {complexity(policy)}", flush=True)
    started = time.monotonic()
    train_policy(
        policy,
        train,
        args.epochs,
        args.batch,
        args.lr,
        args.seed,
        args.max_minutes,
        lambda s: print(s, flush=True),
    )
    minutes = (time.monotonic() - started) / 60
    policy.save(Path(args.out))
    error = action_error(policy.torch_predict(), policy, val.sample(300))
    print(f"trained {minutes:.1f} min; val action MSE (300 frames) {error:.5f}; saved {args.out}", flush=True)


if __name__ == "__main__":
    main()
