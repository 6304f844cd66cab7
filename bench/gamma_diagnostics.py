"""Why BN-scale pruning breaks the demo model: γ quantiles, and mAP when the smallest-γ channels are zeroed.

    python bench/gamma_diagnostics.py --fraction 0.2

Zeroing γ (and β) of a channel silences it without pruning anything, so a collapse here is the
model's sensitivity, not the pruning mechanics. Scored with the project's evaluate() on the full
demo val split, PyTorch eager at 320.
"""

from __future__ import annotations

import argparse
import copy
import json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=0.2)
    args = parser.parse_args()

    import torch

    from edgecompress.backends.torch_eager import TorchRuntime
    from edgecompress.data import load_split
    from edgecompress.demo import demo_checkpoint, demo_data_yaml
    from edgecompress.measure.accuracy import evaluate
    from edgecompress.models.yolo import load_detector
    from edgecompress.models.yolo_head import head_output_layers

    detector = load_detector(demo_checkpoint())
    model = copy.deepcopy(detector.torch_model).float().eval()
    val = load_split(demo_data_yaml(), "val")
    head = {id(sub) for m in head_output_layers(model) for sub in m.modules()}
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d) and id(m) not in head]
    gammas = torch.cat([b.weight.detach().abs() for b in bns])
    threshold = torch.quantile(gammas, args.fraction)
    result = {
        "quantiles": {q: round(float(torch.quantile(gammas, q)), 3) for q in (0.01, 0.05, 0.2, 0.5, 0.9)},
        "baseline_map50_95": evaluate(TorchRuntime(copy.deepcopy(model)), val, 320).map50_95,
    }
    for bn in bns:
        silent = bn.weight.detach().abs() <= threshold
        bn.weight.data[silent] = 0.0
        bn.bias.data[silent] = 0.0
    result[f"zeroed_{args.fraction}_map50_95"] = evaluate(TorchRuntime(model), val, 320).map50_95
    print(json.dumps(result))


if __name__ == "__main__":
    main()
