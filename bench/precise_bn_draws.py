"""How much the per-epoch validation moves with the precise-BN sample alone (issue #12, session 15).

Trains ``--model`` for ``--epochs`` epochs at lr 1e-6 (the weights stay put: only the BatchNorm
statistics, re-estimated after every epoch on ``--precise-bn`` images from the trainer's own
augmented loader, change) and prints each epoch's in-training val mAP50-95 and the BN buffers that
moved most. The spread across epochs is the noise that choosing ``best.pt`` by val picks from.

    python bench/precise_bn_draws.py --model bench/models/pcb-yolov8n-narrow-r24b-r24-r24.pt \
        --data runs/pcb-data/data.yaml --precise-bn 64 --epochs 3 --fraction 1.0 \
        --out bench/results/precise-bn-64.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--precise-bn", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--fraction", type=float, default=0.2, help="fraction of train per epoch")
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--work", type=Path, default=Path("runs/precise-bn-draws"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    from edgecompress.models.yolo_training import CompressedModelTrainer, configured
    from edgecompress.passes.distill import DistillConfig
    from edgecompress.passes.training import resolved_data_yaml, train_overrides

    work = args.work / f"pbn{args.precise_bn}"
    settings = DistillConfig(
        epochs=args.epochs, lr0=1e-6, warmup_epochs=0, close_mosaic=args.epochs, fraction=args.fraction
    )
    overrides = train_overrides(settings, args.model, resolved_data_yaml(args.data, work), work, args.imgsz)
    guard = {"precise_bn": args.precise_bn, "diverge_loss": 1e5}
    trainer = configured(CompressedModelTrainer, guard=guard)(overrides=overrides)
    epochs: list[dict[str, Any]] = []
    previous: dict[str, torch.Tensor] = {}

    def record(trainer: Any) -> None:
        if int(trainer.epoch) + 1 > int(trainer.epochs):
            return  # Ultralytics' final validation of best.pt
        state = {k: v.detach().float().clone() for k, v in trainer.ema.ema.state_dict().items()}
        moved = sorted(
            ((float((state[k] - previous[k]).abs().max()), k) for k in state if k in previous), reverse=True
        )
        epochs.append(
            {
                "epoch": int(trainer.epoch) + 1,
                "map50_95": round(float(trainer.metrics["metrics/mAP50-95(B)"]), 4),
                "most_moved": [[k, round(d, 3)] for d, k in moved[:3]],
            }
        )
        previous.clear()
        previous.update(state)

    trainer.add_callback("on_fit_epoch_end", record)
    trainer.train()
    values = [e["map50_95"] for e in epochs]
    result = {
        "model": str(args.model), "precise_bn": args.precise_bn, "fraction": args.fraction, "lr0": 1e-6,
        "epochs": epochs, "spread": round(max(values) - min(values), 4),
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
