"""What repairing the statistics recovers after pruning, with no training: mAP without and with it.

    python bench/recalibration.py --settings uniform:0.05:1,uniform:0.1:8
    python bench/recalibration.py --model runs/bench-masked/sparse/model.pt \
        --settings global:0.4:8,threshold:0.05:1

Each setting (criterion:ratio-or-threshold:round_to) prunes the model by |γ| twice: as is, and with
``bn_prune``'s repairs (removed head inputs folded into the output-conv biases, BatchNorm statistics
re-estimated on 256 seeded, letterboxed train images). Both are scored with the project's
evaluate() on the full val split of the demo digits set, PyTorch eager at 320.
"""

from __future__ import annotations

import argparse
import copy
import json

DEFAULT_SETTINGS = ",".join(
    f"{criterion}:{ratio}:{round_to}"
    for round_to in (1, 8)
    for criterion in ("uniform", "global")
    for ratio in (0.05, 0.1, 0.3)
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint (default: the bundled demo model)")
    parser.add_argument("--settings", default=DEFAULT_SETTINGS)
    parser.add_argument("--images", type=int, default=256)
    args = parser.parse_args()

    from edgecompress.backends.torch_eager import TorchRuntime
    from edgecompress.data import load_split
    from edgecompress.demo import demo_checkpoint, demo_data_yaml
    from edgecompress.measure.accuracy import evaluate
    from edgecompress.models.batchnorm_statistics import recalibration_batches
    from edgecompress.models.yolo import load_detector
    from edgecompress.passes.bn_prune import BNPruneConfig, prune_by_bn_scale

    detector = load_detector(args.model or demo_checkpoint())
    data = demo_data_yaml()
    val = load_split(data, "val")
    batches = recalibration_batches(data, 320, args.images)
    original = evaluate(TorchRuntime(copy.deepcopy(detector.torch_model).float().eval()), val, 320)
    print(json.dumps({"model": args.model or "demo", "map50": original.map50, "map50_95": original.map50_95}))
    for setting in args.settings.split(","):
        criterion, value, round_to = setting.split(":")
        amount = {"threshold": float(value)} if criterion == "threshold" else {"ratio": float(value)}
        config = BNPruneConfig(criterion=criterion, round_to=int(round_to), **amount)
        pruned, details = prune_by_bn_scale(detector.torch_model, config, 320)
        repaired, _ = prune_by_bn_scale(detector.torch_model, config, 320, batches)
        before = evaluate(TorchRuntime(pruned), val, 320)
        after = evaluate(TorchRuntime(repaired), val, 320)
        row = {
            "setting": setting,
            "channel_ratio": round(details["channel_ratio"], 3),
            "gflops": round(details["gflops_after"], 3),
            "map50_pruned": round(before.map50, 4),
            "map50_95_pruned": round(before.map50_95, 4),
            "map50_repaired": round(after.map50, 4),
            "map50_95_repaired": round(after.map50_95, 4),
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
