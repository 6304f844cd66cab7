"""Recovery training of an already compressed SmolVLA folder in PyTorch, without a compile: quick settings.

Runs the ``policy_finetune`` pass itself on ``--model`` (e.g. a compiled artifact's ``model/``; it is
not changed on disk) with the demos encoded by ``--policy``'s ``codec.json`` (the distillation teacher
too), and prints the held-out action MSE against the expert before and after (200 held-out frames, the
noise of :func:`smolvla_metaworld_eval.held_out_inputs`, simulator units: the ``heldout`` step's
figure, in PyTorch instead of the lowered graphs) with the pass's details. One torch thread.

    python bench/policy/smolvla_finetune_probe.py --model runs/smolvla-mw/artifacts/flops30/model \
        --set steps=300 lr=1e-4
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from smolvla_metaworld_eval import DEMOS, held_out_inputs

from edgecompress.models.policy_data import load_demonstrations
from edgecompress.models.smolvla import SmolVLAAdapter, load_smolvla
from edgecompress.models.smolvla_data import load_smolvla_demos
from edgecompress.passes.policy_finetune import PolicyFinetuneConfig, PolicyFinetunePass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the compressed policy folder to fine-tune")
    parser.add_argument("--policy", default="bench/policy/data/smolvla-metaworld", help="codec and teacher")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--set", nargs="*", default=[], help="pass settings, e.g. steps=300 lr=1e-4")
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = PolicyFinetuneConfig.model_validate(dict(item.split("=", 1) for item in args.set))
    adapter = load_smolvla(args.model)
    demos = load_smolvla_demos(DEMOS, adapter.meta(), Path(args.policy))
    _, val = load_demonstrations(DEMOS).split()
    sample = val.sample(args.frames)
    meta = adapter.meta()
    inputs = held_out_inputs(demos.codec, sample, (1, meta["chunk_size"], meta["max_action_dim"]))
    truth = sample.chunks(meta["chunk_size"])

    def mse(model: SmolVLAAdapter) -> float:
        predict = model.torch_predict()
        predicted = np.stack([demos.codec.unaction(predict(o, n)[0]) for o, n in inputs])
        return float(np.mean((predicted - truth) ** 2))

    before = mse(adapter)
    started = time.monotonic()
    context = SimpleNamespace(demonstrations=demos, teacher=Path(args.policy))
    details = PolicyFinetunePass(settings).run(adapter, context).details  # type: ignore[arg-type]
    record = {
        "settings": settings.model_dump(),
        "heldout_action_mse_before": before,
        "heldout_action_mse_after": mse(adapter),
        "seconds": time.monotonic() - started,
        **details,
    }
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
