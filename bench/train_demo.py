"""Train the bundled demo detector: YOLOv8n on the scikit-learn digits detection set.

Reproduce the committed checkpoint (CPU, about 40 minutes on 2 cores):

    python bench/train_demo.py --weights ../shared/data/yolov8n-coco/yolov8n_coco.pt \
        --epochs 30 --out edgecompress/demo/yolov8n-digits.pt

``--weights`` starts from the COCO-pretrained YOLOv8n (transfer learning); pass ``yolov8n.yaml``
to train from scratch instead (much slower to converge, see shared/ENVIRONMENT.md). The YOLO26n of
issue #17's NMS-free parity test (no pretrained YOLO26 weights here, so from its YAML; about 40
minutes on 2 busy cores):

    python bench/train_demo.py --weights yolo26n.yaml --epochs 40 --imgsz 160 \
        --out bench/models/yolo26n-digits.pt
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="yolov8n.yaml")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="edgecompress/demo/yolov8n-digits.pt")
    args = parser.parse_args()

    from edgecompress.offline import enforce_offline

    enforce_offline()
    from ultralytics import YOLO

    from edgecompress.demo.digits import build_digits_dataset

    work = Path(tempfile.mkdtemp(prefix="train-demo-"))
    data_yaml = build_digits_dataset(work / "digits")
    model = YOLO(args.weights)
    model.train(
        data=str(data_yaml),
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        device=args.device,
        workers=2,
        amp=False,
        plots=False,
        close_mosaic=5,
        seed=0,
        deterministic=True,
        project=str(work / "runs"),
        name="train",
        exist_ok=True,
        fliplr=0.0,
        patience=0,
    )
    best = work / "runs" / "train" / "weights" / "best.pt"
    metrics = YOLO(str(best)).val(data=str(data_yaml), imgsz=args.imgsz, batch=16, device="cpu", plots=False)
    summary = {
        "mAP50": float(metrics.box.map50),
        "mAP50-95": float(metrics.box.map),
        "epochs": args.epochs,
        "imgsz": args.imgsz,
        "weights": str(args.weights),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(best, out)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
