"""Time and peak memory of a BN-scale prune at ratio 0.5 for each Ultralytics detector family.

    python bench/family_prune.py --families yolov8n yolo11n yolo12n yolov10n yolo26n \\
        --out bench/results/family-prune.json

Each family is built from its Ultralytics YAML (80 classes, random weights with BatchNorm γ drawn
uniformly in [0.05, 1.5] so the ranking has something to rank) and pruned in a process of its own
(global criterion, round_to 8, imgsz 640), so the peak resident memory is that prune's alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
import torch
from ultralytics.nn.tasks import DetectionModel
from edgecompress.passes.bn_prune import BNPruneConfig, prune_by_bn_scale
torch.manual_seed(0)
model = DetectionModel(sys.argv[1] + ".yaml", verbose=False).eval()
for m in model.modules():
    if isinstance(m, torch.nn.BatchNorm2d):
        m.weight.data = torch.empty(m.num_features).uniform_(0.05, 1.5)
started = time.perf_counter()
config = BNPruneConfig(ratio=0.5, criterion="global", round_to=8)
_, details = prune_by_bn_scale(model, config, int(sys.argv[2]))
wall = time.perf_counter() - started
keys = ("params_before", "params_after", "gflops_before", "gflops_after")
print(json.dumps({"prune_s": round(wall, 1), **{k: details[k] for k in keys},
                  "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--families", nargs="+", default=["yolov8n", "yolo11n", "yolo12n", "yolov10n", "yolo26n"]
    )
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--out", type=Path, default=Path("bench/results/family-prune.json"))
    args = parser.parse_args()
    rows = {}
    for family in args.families:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", CHILD, family, str(args.imgsz)], capture_output=True, text=True, check=True
        )
        rows[family] = {
            **json.loads(done.stdout.strip().splitlines()[-1]),
            "process_s": round(time.perf_counter() - started, 1),
        }
        print(family, rows[family], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"imgsz": args.imgsz, "ratio": 0.5, "families": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
