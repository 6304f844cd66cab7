"""What BatchNorm recalibration recovers after pruning, with no training: mAP before and after it.

    python bench/recalibration.py --ratios 0.1,0.3,0.5 --criteria uniform,global --round-to 1,8

Each setting prunes the bundled demo model by |γ| (torch-pruning), scores it, then
re-estimates the BatchNorm statistics on 256 seeded, letterboxed train images and scores it again.
Scored with the project's evaluate() on the full demo val split, PyTorch eager at 320.
"""

from __future__ import annotations

import argparse
import copy
import json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratios", default="0.05,0.1,0.2")
    parser.add_argument("--criteria", default="uniform,global")
    parser.add_argument("--round-to", default="1,8")
    parser.add_argument("--images", type=int, default=256)
    args = parser.parse_args()

    from edgecompress.backends.torch_eager import TorchRuntime
    from edgecompress.data import load_split
    from edgecompress.demo import demo_checkpoint, demo_data_yaml
    from edgecompress.measure.accuracy import evaluate
    from edgecompress.models.yolo import load_detector
    from edgecompress.passes.bn_prune import BNPruneConfig, prune_by_bn_scale
    from edgecompress.passes.bn_recalibration import recalibrate_batchnorm, recalibration_batches

    detector = load_detector(demo_checkpoint())
    data = demo_data_yaml()
    val = load_split(data, "val")
    batches = recalibration_batches(data, 320, args.images)
    original = evaluate(TorchRuntime(copy.deepcopy(detector.torch_model).float().eval()), val, 320)
    rows = [{"criterion": "-", "ratio": 0.0, "map50": original.map50, "map50_95": original.map50_95}]
    settings = [
        (criterion, float(ratio), int(round_to))
        for round_to in args.round_to.split(",")
        for criterion in args.criteria.split(",")
        for ratio in args.ratios.split(",")
    ]
    for criterion, ratio, round_to in settings:
        config = BNPruneConfig(ratio=ratio, criterion=criterion, round_to=round_to)
        pruned, details = prune_by_bn_scale(detector.torch_model, config, 320)
        before = evaluate(TorchRuntime(copy.deepcopy(pruned)), val, 320)
        recalibrate_batchnorm(pruned, batches)
        after = evaluate(TorchRuntime(pruned), val, 320)
        rows.append(
            {
                "criterion": criterion,
                "ratio": ratio,
                "round_to": round_to,
                "gflops": round(details["gflops_after"], 3),
                "map50_pruned": round(before.map50, 4),
                "map50_95_pruned": round(before.map50_95, 4),
                "map50_recalibrated": round(after.map50, 4),
                "map50_95_recalibrated": round(after.map50_95, 4),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"original": rows[0]}))


if __name__ == "__main__":
    main()
