"""Why a pruning plan collapses a model: the |γ| it removes per layer, and mAP with those γ zeroed.

    python bench/prune_plan_check.py --model bench/models/pcb-yolov8n-sparse.pt \\
        --data runs/pcb-data/data.yaml --ratio 0.65 --criterion uniform --images 100

Prints the layers whose removed channels have the largest |γ| (with the smallest |γ| kept and the
largest |β| removed), then mAP50 / mAP50-95 on the first ``--images`` val images of the model as
it is, with the planned channels' γ zeroed (what a perfect sparsity training would have reached)
and with γ and β zeroed. Nothing is pruned; PyTorch FP32 on the CPU.
"""

from __future__ import annotations

import argparse
import copy

import torch


def main() -> None:
    from edgecompress.backends.torch_eager import TorchRuntime
    from edgecompress.data import load_split
    from edgecompress.measure.accuracy import evaluate_images
    from edgecompress.models.yolo import load_detector
    from edgecompress.models.yolo_modules import make_prunable
    from edgecompress.passes.bn_prune import BNPruneConfig, pruning_plan

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--ratio", type=float, default=0.65)
    parser.add_argument("--criterion", default="uniform", choices=["uniform", "global"])
    parser.add_argument("--round-to", type=int, default=8)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()

    model = copy.deepcopy(load_detector(args.model).torch_model).float().eval()
    make_prunable(model)
    config = BNPruneConfig(ratio=args.ratio, criterion=args.criterion, round_to=args.round_to)
    plan = pruning_plan(model, config, args.imgsz)
    layers = dict(model.named_modules())
    rows = []
    for name, index in plan.items():
        bn = layers[name]
        gamma = bn.weight.detach().abs()
        kept = torch.ones_like(gamma, dtype=torch.bool)
        kept[index] = False
        smallest_kept = float(gamma[kept].min()) if kept.any() else float("nan")
        rows.append(
            (
                float(gamma[index].max()),
                name,
                len(index),
                len(gamma),
                smallest_kept,
                float(bn.bias.detach()[index].abs().max()),
            )
        )
    print("largest removed |γ|  layer  removed/total  smallest kept |γ|  largest removed |β|")
    for row in sorted(rows, reverse=True)[: args.top]:
        print(f"{row[0]:8.3f}  {row[1]}  {row[2]}/{row[3]}  {row[4]:.3f}  {row[5]:.3f}")

    split = load_split(args.data, "val")
    images = split.images[: args.images]

    def score(net: torch.nn.Module, label: str) -> None:
        runtime = TorchRuntime(copy.deepcopy(net).fuse().eval())
        acc, _ = evaluate_images(runtime, split, images, args.imgsz, progress=False)
        print(f"{label}: mAP50 {acc.map50:.4f}, mAP50-95 {acc.map50_95:.4f} ({len(images)} val images)")

    score(model, "as it is")
    zeroed = copy.deepcopy(model)
    modules = dict(zeroed.named_modules())
    with torch.no_grad():
        for name, index in plan.items():
            modules[name].weight[index] = 0
    score(zeroed, "planned γ zeroed")
    with torch.no_grad():
        for name, index in plan.items():
            modules[name].bias[index] = 0
    score(zeroed, "planned γ and β zeroed")


if __name__ == "__main__":
    main()
