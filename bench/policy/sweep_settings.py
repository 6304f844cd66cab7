"""Offline sweep of the three policy passes' settings: GFLOPs per chunk and held-out action error (PyTorch).

Used to pick `recipes/vla-efficient.yaml` before the (slow) closed-loop benchmark:

    python bench/policy/sweep_settings.py --policy /tmp/vla/vla-metaworld.pt \
        --demos bench/policy/data/metaworld-demos.npz --frames 300 --out bench/results/vla-sweep.md
"""

from __future__ import annotations

import argparse
import copy
import itertools
import sys
from pathlib import Path
from types import SimpleNamespace

import torch

from edgecompress.models.policy import PolicyAdapter, action_error, complexity, load_policy
from edgecompress.models.policy_data import load_demonstrations
from edgecompress.passes.feature_cache import FeatureCacheConfig, FeatureCachePass
from edgecompress.passes.layer_prune import LayerPruneConfig, LayerPrunePass
from edgecompress.passes.token_prune import TokenPruneConfig, TokenPrunePass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True)
    parser.add_argument("--demos", required=True)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--layers", type=int, nargs="+", default=[0, 2, 3, 4])
    parser.add_argument("--keep", type=float, nargs="+", default=[1.0, 0.25, 0.125])
    parser.add_argument("--interval", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    original = load_policy(args.policy)
    train, val = load_demonstrations(args.demos).split()
    val = val.sample(args.frames)
    ctx = SimpleNamespace(calibration=lambda count, seed=0: train.sample(count, seed))
    base = complexity(original)["gflops"]
    lines = [
        f"Command: `python {' '.join(sys.argv)}`",
        "",
        "| layers removed | visual tokens kept | cache interval | GFLOPs/chunk (× base) | action MSE |",
        "|---|---|---|---|---|",
    ]
    for layers, keep, interval in itertools.product(args.layers, args.keep, args.interval):
        policy = PolicyAdapter(Path(args.policy), copy.deepcopy(original.network))
        if layers:
            LayerPrunePass(LayerPruneConfig(layers=layers)).run(policy, ctx)  # type: ignore[arg-type]
        if keep < 1.0:
            TokenPrunePass(TokenPruneConfig(after_layer=2, keep=keep, keep_top=4)).run(policy, ctx)  # type: ignore[arg-type]
        if interval > 1:
            FeatureCachePass(FeatureCacheConfig(interval=interval)).run(policy, ctx)  # type: ignore[arg-type]
        flops = complexity(policy)["gflops"]
        error = action_error(policy.torch_predict(), policy, val)
        lines.append(f"| {layers} | {keep:g} | {interval} | {flops:.3f} ({flops / base:.2f}) | {error:.4f} |")
        print(lines[-1], flush=True)
    Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
