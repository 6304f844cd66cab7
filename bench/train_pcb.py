"""Fine-tune the COCO-pretrained YOLOv8n on DeepPCB train: the user's model of the DeepPCB benchmark.

Reproduce the committed checkpoint (CPU, 2 cores; about 2.5 minutes per epoch at 320):

    python bench/train_pcb.py --shared ../shared/data --epochs 25 --imgsz 320 \
        --out bench/models/pcb-yolov8n.pt

An interrupted run continues from its last epoch with the same command plus ``--resume`` (the
Ultralytics run folder lives in ``--work``, ``runs/pcb-train`` by default). Validation runs once, on
the full val split after the last epoch (``val=False`` during training saves ~20 s per epoch), and
its figures are written next to the checkpoint as ``.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pcb_data import deeppcb_copy


def train(args: argparse.Namespace, data_yaml: Path) -> Path:
    """Run (or resume) Ultralytics' own trainer; return the final weights."""
    from ultralytics import YOLO

    run_dir = Path(args.work) / "train"
    last = run_dir / "weights" / "last.pt"
    if args.resume and last.is_file():
        YOLO(str(last)).train(resume=True)
    else:
        YOLO(args.weights).train(
            data=str(data_yaml),
            epochs=args.epochs,
            imgsz=args.imgsz,
            batch=args.batch,
            device="cpu",
            workers=2,
            amp=False,
            plots=False,
            val=False,
            close_mosaic=5,
            flipud=0.5,  # a circuit board has no up: vertical flips are as valid as horizontal ones
            seed=0,
            deterministic=True,
            patience=0,
            project=str(Path(args.work).resolve()),
            name="train",
            exist_ok=True,
        )
    return run_dir / "weights" / "last.pt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared/data")
    parser.add_argument("--weights", default="../shared/data/yolov8n-coco/yolov8n_coco.pt")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--work", default="runs/pcb-train")
    parser.add_argument("--data-copy", default="runs/pcb-data")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--out", default="bench/models/pcb-yolov8n.pt")
    args = parser.parse_args()

    from edgecompress.offline import enforce_offline

    enforce_offline()
    from ultralytics import YOLO

    data_yaml = deeppcb_copy(Path(args.shared), Path(args.data_copy))
    start = time.perf_counter()
    weights = train(args, data_yaml)
    train_s = time.perf_counter() - start
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(weights, out)
    metrics = YOLO(str(out)).val(data=str(data_yaml), imgsz=args.imgsz, batch=16, device="cpu", plots=False)
    summary = {
        "ultralytics_val": {"mAP50": float(metrics.box.map50), "mAP50-95": float(metrics.box.map)},
        "per_class_mAP50-95": {
            metrics.names[int(c)]: round(float(metrics.box.maps[int(c)]), 4)
            for c in metrics.box.ap_class_index
        },
        "epochs": args.epochs,
        "imgsz": args.imgsz,
        "weights": Path(args.weights).name,
        "train_wall_s_this_process": round(train_s, 1),
        "command": "python bench/train_pcb.py " + " ".join(sys.argv[1:]),
    }
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
