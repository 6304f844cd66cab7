"""Which images BatchNorm statistics must be re-estimated on: plain letterboxed or augmented as in training.

python bench/bn_statistics_check.py --model bench/models/pcb-yolov8n.pt --data runs/pcb-data/data.yaml
    --imgsz 320 --images 64

Scores the checkpoint with Ultralytics' val (square letterbox, ``rect=False``) as it is, then after
re-estimating every BatchNorm's running statistics (exact average, torch's ``update_bn``) on
``--images`` train images taken (a) through the deploy letterbox (``recalibration_batches``, what
``bn_prune`` uses), (b) from Ultralytics' training pipeline with its default augmentation and no
mosaic, (c) the same with mosaic. Only the running statistics change; no weight is trained.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch


def augmented_batches(data_yaml: Path, imgsz: int, count: int, mosaic: float) -> list[torch.Tensor]:
    """``count`` train images as Ultralytics' trainer draws them (seeded), scaled to [0, 1]."""
    from ultralytics.cfg import get_cfg
    from ultralytics.data import build_dataloader, build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset

    torch.manual_seed(0)
    cfg = get_cfg(overrides={"imgsz": imgsz, "mosaic": mosaic, "data": str(data_yaml)})
    data = check_det_dataset(str(data_yaml))
    dataset = build_yolo_dataset(cfg, data["train"], 16, data, mode="train", rect=False, stride=32)
    batches = []
    for batch in build_dataloader(dataset, 16, 0, shuffle=True, rank=-1):
        batches.append(batch["img"].float() / 255)
        if len(batches) * 16 >= count:
            return batches
    return batches


def val_map(model_pt: Path, data_yaml: Path, imgsz: int) -> tuple[float, float]:
    """(mAP50, mAP50-95) of Ultralytics' val with square letterboxed images."""
    from ultralytics import YOLO

    metrics = YOLO(str(model_pt)).val(
        data=str(data_yaml), imgsz=imgsz, batch=16, rect=False, plots=False, verbose=False, workers=0
    )
    return round(float(metrics.box.map50), 4), round(float(metrics.box.map), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--images", type=int, default=64)
    args = parser.parse_args()
    from ultralytics import YOLO

    from edgecompress.models.batchnorm_statistics import recalibrate_batchnorm, recalibration_batches

    sources = {
        "letterboxed train images (deploy path)": lambda: recalibration_batches(
            args.data, args.imgsz, args.images
        ),
        "train pipeline, augmented, no mosaic": lambda: augmented_batches(
            args.data, args.imgsz, args.images, 0.0
        ),
        "train pipeline, augmented, mosaic": lambda: augmented_batches(
            args.data, args.imgsz, args.images, 1.0
        ),
    }
    results = {
        "model": str(args.model),
        "images": args.images,
        "as it is": val_map(args.model, args.data, args.imgsz),
    }
    with tempfile.TemporaryDirectory() as folder:
        for name, batches in sources.items():
            yolo = YOLO(str(args.model))
            recalibrate_batchnorm(yolo.model, batches())
            saved = Path(folder) / "recalibrated.pt"
            yolo.save(str(saved))
            results[name] = val_map(saved, args.data, args.imgsz)
            print(name, results[name], flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
