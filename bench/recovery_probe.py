"""Why a freshly pruned model collapses in its first recovery epoch (issue #12, item 5).

The fall-detection YOLOv8s is pruned (30 % of channels per layer, BN statistics repaired), then
trained for a few optimizer steps on coco128 person boxes as the recovery stage trains it (train
mode, AdamW, an optimizer step every batch of 16). After every step the model is run in eval mode,
as Ultralytics validates it, and the largest class score on four train images is printed: 1.0 means
saturated logits (the val cls loss of 1e9 the grid logged). Last, the statistics are re-estimated on
train images and the same score is printed again.

    python bench/fall_data.py --out runs/fall-data
    python bench/recovery_probe.py --lr 0.002 --steps 4            # the old default: saturates
    python bench/recovery_probe.py --lr 0.0002 --steps 4           # 10x lower: does not
    python bench/recovery_probe.py --lr 0.001 --steps 8 --warmup 8 # warmup delays it; stale BN remains
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch


def class_score_peak(model: torch.nn.Module, images: torch.Tensor) -> float:
    """The largest class score of ``model`` in eval mode (the Detect head's sigmoid outputs)."""
    model.eval()
    with torch.no_grad():
        out = model(images)[0]
    return float(out[:, 4:].max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="runs/fall-data/data.yaml")
    parser.add_argument("--lr", type=float, default=0.002)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=0, help="linear warmup over this many steps")
    parser.add_argument("--ratio", type=float, default=0.3)
    args = parser.parse_args()

    from edgecompress.offline import enforce_offline

    enforce_offline()
    import fall_detection
    from torch.utils.data import DataLoader
    from ultralytics.cfg import get_cfg
    from ultralytics.data.build import build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset
    from ultralytics.nn.tasks import load_checkpoint
    from ultralytics.utils import DEFAULT_CFG

    from edgecompress.models.batchnorm_statistics import recalibrate_batchnorm, recalibration_batches
    from edgecompress.passes.bn_prune import BNPruneConfig, prune_by_bn_scale

    torch.manual_seed(0)
    model, _ = load_checkpoint(str(Path(fall_detection.__file__).parent / "models" / "best.pt"))
    batches = recalibration_batches(args.data, 640, 64)
    config = BNPruneConfig(ratio=args.ratio, criterion="uniform", round_to=8)
    pruned, details = prune_by_bn_scale(model.float().eval(), config, 640, batches)
    probe = torch.from_numpy(batches[0][:4].astype(np.float32))
    print(f"GFLOPs {details['gflops_before']:.1f} -> {details['gflops_after']:.1f}")
    print(f"original: peak class score {class_score_peak(model, probe):.3f}")
    print(f"pruned, statistics repaired: {class_score_peak(pruned, probe):.3f}")

    pruned.args = SimpleNamespace(**{**vars(DEFAULT_CFG), "box": 7.5, "cls": 0.5, "dfl": 1.5})
    for param in pruned.parameters():
        param.requires_grad_(True)
    info = check_det_dataset(args.data)
    dataset = build_yolo_dataset(
        get_cfg(overrides={"imgsz": 640, "data": args.data}), info["train"], 16, info, mode="train", stride=32
    )
    loader = DataLoader(dataset, batch_size=16, shuffle=True, collate_fn=dataset.collate_fn)
    optimizer = torch.optim.AdamW(pruned.parameters(), lr=args.lr)
    for step, batch in zip(range(args.steps), loader, strict=False):
        for group in optimizer.param_groups:
            group["lr"] = args.lr * min(1.0, (step + 1) / args.warmup) if args.warmup else args.lr
        pruned.train()
        batch["img"] = batch["img"].float() / 255
        loss, _ = pruned.loss(batch)
        optimizer.zero_grad()
        loss.sum().backward()
        optimizer.step()
        print(f"step {step}: peak class score in eval mode {class_score_peak(pruned, probe):.3f}")
    fresh = copy.deepcopy(pruned)
    recalibrate_batchnorm(fresh, batches)
    print(f"after {args.steps} steps, statistics re-estimated: {class_score_peak(fresh, probe):.3f}")


if __name__ == "__main__":
    main()
