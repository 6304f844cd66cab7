"""Train a small SmolVLA (LeRobot's own code, reduced config) on the Meta-World demos; resumable.

The policy (:mod:`smolvla_metaworld`) is trained with ``SmolVLAPolicy.forward`` (LeRobot's flow-
matching loss) on the demos' train split (``Demonstrations.split``: the last 20 % of each task's
episodes held out), action chunks as the reference VLA's (``Demonstrations.chunks``: padded with the
episode's last action). AdamW with LeRobot's SmolVLA betas, eps and gradient clip, a linear warmup
and cosine decay. Every ``--save-every`` steps the policy is written with ``save_pretrained`` (via
the package's ``save_smolvla``) to ``OUT`` with ``codec.json`` (tokens, normalization) and
``train_state.pt`` (optimizer, step) in ``OUT/../<name>.state``; ``--resume`` continues from there.

    nice -n 19 python bench/policy/train_smolvla.py --demos bench/policy/data/metaworld-demos.npz \
        --out runs/smolvla-mw/policy --max-minutes 55
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from smolvla_metaworld import CAMERA, LANG_LENGTH, build_small_smolvla

from edgecompress.models.policy_data import load_demonstrations
from edgecompress.models.smolvla import load_smolvla, save_smolvla
from edgecompress.models.smolvla_data import Codec, SmolVLADemos
from edgecompress.models.smolvla_training import adamw, held_out_loss, lr_at, train_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demos", required=True)
    parser.add_argument("--out", required=True, help="the save_pretrained folder")
    parser.add_argument("--steps", type=int, default=6000, help="at most this many steps")
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=55.0,
        help="training minutes in all; the cosine decay ends "
        "at whichever of --steps and --max-minutes comes first",
    )
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--horizon", type=int, default=8)
    parser.add_argument("--save-every", type=int, default=250)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    state_file = out.parent / f"{out.name}.state"
    demos = load_demonstrations(args.demos)
    train, val = demos.split()
    if args.resume:
        codec = Codec.load(out)
        policy = load_smolvla(out).policy
        saved = torch.load(state_file, weights_only=False)
        step, log = int(saved["step"]), list(saved["log"])
    else:
        codec = Codec.fit([str(t) for t in demos.instructions], train.states, train.actions)
        size = int(demos.images.shape[1])
        policy = build_small_smolvla(
            size, demos.states.shape[1], demos.actions.shape[1], args.horizon, args.seed
        )
        step, log, saved = 0, [], None
    data = SmolVLADemos(train, val, codec, CAMERA, args.horizon, LANG_LENGTH)
    held = next(data.batches(val.sample(256), 256, seed=0))  # fixed held-out frames, noise and times
    policy.train()
    params = [p for p in policy.parameters() if p.requires_grad]
    optimizer = adamw(params, args.lr)
    if saved is not None:
        optimizer.load_state_dict(saved["optimizer"])
    total = sum(p.numel() for p in policy.parameters())
    print(
        f"train {len(train)} frames, val {len(val)}; {total / 1e6:.2f} M params "
        f"({sum(p.numel() for p in params) / 1e6:.2f} M trained); from step {step}",
        flush=True,
    )
    stream = data.batches(train, args.batch, args.seed + step)
    started, running = time.monotonic(), []
    before = log[-1]["minutes"] if log else 0.0  # minutes trained before a resume
    torch.manual_seed(args.seed + step)
    while step < args.steps:
        for group in optimizer.param_groups:
            minutes = before + (time.monotonic() - started) / 60
            progress = max(step / args.steps, minutes / args.max_minutes)
            group["lr"] = lr_at(step, args.lr, args.warmup, progress)
        running.append(train_step(policy, optimizer, next(stream))["loss"])
        step += 1
        out_of_time = before + (time.monotonic() - started) / 60 > args.max_minutes
        if step % args.save_every == 0 or step == args.steps or out_of_time:
            entry = {
                "step": step,
                "train_loss": float(np.mean(running)),
                "val_loss": held_out_loss(policy, held),
                "minutes": before + (time.monotonic() - started) / 60,
                "lr": optimizer.param_groups[0]["lr"],
            }
            log.append(entry)
            running = []
            save(policy, codec, out, state_file, optimizer, step, log)
            print(json.dumps(entry), flush=True)
        if out_of_time:
            break
    print(f"saved {out} at step {step}", flush=True)


def save(policy, codec, out, state_file, optimizer, step, log) -> None:  # type: ignore[no-untyped-def]
    """The policy folder (save_pretrained + codec.json + train_log.json) and the optimizer state."""
    policy.eval()
    save_smolvla(policy, out)
    codec.save(out)
    (out / "train_log.json").write_text(json.dumps(log, indent=1) + "\n")
    torch.save({"optimizer": optimizer.state_dict(), "step": step, "log": log}, state_file)
    policy.train()


if __name__ == "__main__":
    main()
