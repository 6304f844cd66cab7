"""Quantization-aware training of a (pruned) DeepPCB YOLOv8n with NNCF, against post-training INT8.

Issue #12: INT8 costs the g75 + ft50 model 3 points of mAP50-95 (0.5436 FP32 → 0.5141 INT8, NNCF
post-training quantization of the OpenVINO IR), against 0.5 for the unpruned model. This measures
whether NNCF's QAT wins them back:

1. the checkpoint is fused (Conv + BN, as Ultralytics' exporter does) and its detect head made to
   return the raw head outputs, so box decoding (DFL, anchors) stays float, as the OpenVINO lowering
   keeps it (``decode_scope_names``);
2. ``nncf.quantize`` on the PyTorch model (mixed preset, the 300 seeded train images of
   ``calibration/default.yaml``, letterboxed as at deployment): the post-training starting point;
3. fine-tuning with the fake quantizers in place: Ultralytics' own train loader (the checkpoint's
   augmentation, no mosaic) and detection loss, Adam at a small learning rate;
4. after each epoch, ``nncf.strip`` + ``ov.convert_model`` (quantized core + float decode) → an
   OpenVINO INT8 IR, scored on every val image by the same letterbox + NMS + Ultralytics AP code as
   the ladder.

    python bench/pcb_qat.py --model bench/models/pcb-yolov8n-prune-g75-ft50.pt \
        --data runs/pcb-data/data.yaml --epochs 3 --out bench/results/pcb-qat-g75-ft50.json
"""

from __future__ import annotations

import argparse
import json
import time
import types
from pathlib import Path
from typing import Any

import numpy as np
import torch


def fused_raw_head(checkpoint: Path) -> torch.nn.Module:
    """The checkpoint's DetectionModel, fused, whose detect head returns its raw outputs in every mode."""
    from ultralytics import YOLO

    model = YOLO(str(checkpoint)).model.float().fuse()
    detect = model.model[-1]
    detect.forward = types.MethodType(lambda self, x: self.forward_head(x, **self.one2many), detect)
    return model


class DeployGraph(torch.nn.Module):
    """Quantized core → the detect head's float decoding: (1, 4 + nc, anchors), Ultralytics' export output."""

    def __init__(self, core: torch.nn.Module, detect: torch.nn.Module) -> None:
        super().__init__()
        self.core, self.detect = core, detect

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.detect._inference(self.core(image))


def lowered(qmodel: torch.nn.Module, detect: torch.nn.Module, imgsz: int, xml: Path) -> Path:
    """An OpenVINO IR of the fake-quantized model (OpenVINO runs its quantizers in INT8)."""
    import copy

    import openvino as ov

    graph = DeployGraph(copy.deepcopy(qmodel).eval(), detect).eval()
    example = torch.zeros(1, 3, imgsz, imgsz)
    with torch.no_grad():
        graph(example)  # the head caches its anchors on the first call; tracing must see one graph
        ov_model = ov.convert_model(graph, example_input=example)
    xml.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(ov_model, str(xml), compress_to_fp16=False)
    return xml


def score(xml: Path, data: Path, imgsz: int) -> dict[str, Any]:
    """mAP of the IR on every val image (the ladder's scoring and runtime settings), and the precision
    OpenVINO ran."""
    import openvino as ov
    from pcb_ladder import prebuilt_ir

    from edgecompress.data import load_split
    from edgecompress.measure.accuracy import evaluate

    runtime = prebuilt_ir(xml, "int8")
    acc = evaluate(runtime, load_split(data, "val"), imgsz, label=xml.stem)
    int8_ops = sum(
        1 for op in ov.Core().read_model(str(xml)).get_ops() if op.get_type_name() == "FakeQuantize"
    )
    return {
        "map50": round(acc.map50, 4),
        "map50_95": round(acc.map50_95, 4),
        "val_images": acc.images,
        "fake_quantize_ops": int8_ops,
        "executed_precision": runtime.executed_precision,
    }


def train_loader(checkpoint: Path, data: Path, imgsz: int, batch: int, work: Path) -> Any:
    """Ultralytics' train loader with the checkpoint's own augmentation, without mosaic."""
    from ultralytics.models.yolo.detect import DetectionTrainer

    trainer = DetectionTrainer(
        overrides={
            "model": str(checkpoint),
            "data": str(data),
            "imgsz": imgsz,
            "batch": batch,
            "workers": 2,
            "device": "cpu",
            "mosaic": 0.0,
            "close_mosaic": 0,
            "flipud": 0.5,
            "project": str(work.resolve()),
            "name": "qat",
            "exist_ok": True,
            "plots": False,
            "amp": False,
            "seed": 0,
            "deterministic": True,
        }
    )
    from ultralytics import YOLO

    trainer.model = YOLO(str(checkpoint)).model
    loader = trainer.get_dataloader(trainer.data["train"], batch_size=batch, rank=-1, mode="train")
    return trainer, loader


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", default="runs/pcb-qat")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import nncf

    from edgecompress.calibration_set import build_calibration_set
    from edgecompress.config import load_calibration_spec
    from edgecompress.passes.training import resolved_data_yaml

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    work = Path(args.work)
    data = resolved_data_yaml(Path(args.data), work)
    checkpoint = Path(args.model)
    model = fused_raw_head(checkpoint)
    detect = model.model[-1]
    trainer, loader = train_loader(checkpoint, data, args.imgsz, args.batch, work)
    model.args = trainer.args
    from ultralytics.utils.loss import v8DetectionLoss

    criterion = v8DetectionLoss(model)

    calibration = build_calibration_set(data, load_calibration_spec("default"), args.imgsz).inputs
    start = time.perf_counter()
    qmodel = nncf.quantize(
        model.eval(),
        nncf.Dataset(calibration, lambda array: torch.from_numpy(np.asarray(array))),
        preset=nncf.QuantizationPreset.MIXED,
        subset_size=len(calibration),
    )
    rows = [
        {
            "epoch": 0,
            "what": "NNCF post-training INT8 of the PyTorch model (QAT's start)",
            "seconds": round(time.perf_counter() - start, 1),
            **score(
                lowered(qmodel, detect, args.imgsz, work / "epoch0" / "model.xml"),
                data,
                args.imgsz,
            ),
        }
    ]
    print(json.dumps(rows[-1]), flush=True)
    optimizer = torch.optim.Adam([p for p in qmodel.parameters() if p.requires_grad], lr=args.lr)
    for epoch in range(1, args.epochs + 1):
        qmodel.train()
        start, losses = time.perf_counter(), []
        for batch in loader:
            batch = trainer.preprocess_batch(batch)
            loss, items = criterion(qmodel(batch["img"]), batch)
            optimizer.zero_grad()
            loss.sum().backward()
            torch.nn.utils.clip_grad_norm_(qmodel.parameters(), max_norm=10.0)
            optimizer.step()
            if isinstance(items, dict):  # Ultralytics 8.4 names its loss items
                items = torch.stack([torch.as_tensor(v).sum() for v in items.values()])
            losses.append(items.detach().numpy())
        seconds = time.perf_counter() - start
        xml = lowered(qmodel, detect, args.imgsz, work / f"epoch{epoch}" / "model.xml")
        rows.append(
            {
                "epoch": epoch,
                "what": f"QAT, Adam lr {args.lr}, batch {args.batch}, no mosaic",
                "seconds": round(seconds, 1),
                "train_loss_box_cls_dfl": [round(float(x), 4) for x in np.mean(losses, axis=0)],
                **score(xml, data, args.imgsz),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
        Path(args.out).write_text(json.dumps({"command": vars(args), "rows": rows}, indent=2) + "\n")
    Path(args.out).write_text(json.dumps({"command": vars(args), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
