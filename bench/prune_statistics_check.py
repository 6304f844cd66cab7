"""Which images bn_prune should repair BatchNorm statistics on after pruning: letterboxed or augmented.

python bench/prune_statistics_check.py --model bench/models/pcb-yolov8n-sparse.pt
    --data runs/pcb-data/data.yaml --criterion global --ratio 0.75 --target flops

Prunes ``--model`` once with ``bn_prune``'s own function (no statistics repair inside), then repairs
the statistics (head-bias fold and BatchNorm re-estimation) on 256 train images taken (a) through the
deploy letterbox (what ``bn_prune`` does) and (b) from Ultralytics' training pipeline with its default
augmentation and no mosaic, and scores each with Ultralytics' val (square letterbox).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bn_statistics_check import augmented_batches, val_map


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--criterion", choices=["global", "uniform"], default="global")
    parser.add_argument("--ratio", type=float, default=0.75)
    parser.add_argument("--target", choices=["channels", "params", "flops"], default="flops")
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--images", type=int, default=256)
    args = parser.parse_args()
    from ultralytics import YOLO

    from edgecompress.models.batchnorm_statistics import recalibration_batches
    from edgecompress.passes.bn_prune import BNPruneConfig, prune_by_bn_scale

    config = BNPruneConfig(
        ratio=args.ratio, target=args.target, criterion=args.criterion, round_to=8, recalibrate=0
    )
    sources = {
        "letterboxed train images (bn_prune)": recalibration_batches(args.data, args.imgsz, args.images),
        "train pipeline, augmented, no mosaic": augmented_batches(args.data, args.imgsz, args.images, 0.0),
    }
    results: dict = {"model": str(args.model), **vars(args)}
    results = {k: str(v) if isinstance(v, Path) else v for k, v in results.items()}
    with tempfile.TemporaryDirectory() as folder:
        for name, batches in sources.items():
            yolo = YOLO(str(args.model))
            yolo.model, details = prune_by_bn_scale(yolo.model, config, args.imgsz, batches)
            saved = Path(folder) / "pruned.pt"
            yolo.save(str(saved))
            score = val_map(saved, args.data, args.imgsz)
            results[name] = {"gflops": round(details["gflops_after"], 3), "map50, map50-95": score}
            print(name, results[name], flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
