"""How large CWD's gradient is next to the detection loss's, on real train images (issue #12).

python bench/cwd_gradient.py --student bench/models/pcb-yolov8n-sparse-prune-g75.pt
    --teacher bench/models/pcb-yolov8n.pt --data runs/pcb-data/data.yaml --imgsz 320 --images 16

Builds the ``distill`` pass's CWD wrapper (weight 1), computes the detection loss and the CWD term on
one batch of letterboxed train images with their labels, and prints the norm of each term's
gradient over the student's parameters, over all of them and over those CWD reaches (backbone and
neck; the head gets none). The CWD weight at which the two are equal is their ratio: the gradient is
linear in the weight.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import yaml


def labelled_batch(data_yaml: Path, imgsz: int, count: int) -> dict[str, torch.Tensor]:
    """``count`` train images resized to ``imgsz`` (DeepPCB's are square) with their YOLO labels."""
    import cv2

    spec = yaml.safe_load(data_yaml.read_text())
    root = Path(spec["path"])
    files = sorted((root / spec["train"]).glob("*.*"))[:count]
    images, cls, boxes, index = [], [], [], []
    for i, file in enumerate(files):
        image = cv2.resize(cv2.imread(str(file)), (imgsz, imgsz))[:, :, ::-1]
        images.append(torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255)
        label = root / "labels" / file.parent.name / f"{file.stem}.txt"
        for line in label.read_text().splitlines():
            c, *b = map(float, line.split())
            cls.append([c])
            boxes.append(b)
            index.append(i)
    return {
        "img": torch.stack(images),
        "cls": torch.tensor(cls),
        "bboxes": torch.tensor(boxes),
        "batch_idx": torch.tensor(index, dtype=torch.float),
    }


def gradient_norms(
    student_pt: Path, teacher_pt: Path, data_yaml: Path, imgsz: int, count: int, tau: float
) -> dict:
    """Norms of the detection-loss and CWD gradients (weight 1) over the student's parameters."""
    from ultralytics.cfg import get_cfg
    from ultralytics.nn.tasks import load_checkpoint

    from edgecompress.models.yolo_training import CWDDistillationModel

    torch.manual_seed(0)
    student = load_checkpoint(str(student_pt))[0].float()
    for p in student.parameters():
        p.requires_grad_(True)
    student.args = get_cfg(overrides={"imgsz": imgsz, "dis": 1.0})
    CWDDistillationModel.tau = tau
    model = CWDDistillationModel(teacher_model=str(teacher_pt), student_model=student).train()
    loss, items = model.loss(labelled_batch(data_yaml, imgsz, count))
    params = [p for p in model.student_model.parameters() if p.requires_grad]
    detection = torch.autograd.grad(loss[:-1].sum(), params, retain_graph=True, allow_unused=True)
    cwd = torch.autograd.grad(loss[-1], params, allow_unused=True)

    def norm(grads: tuple, only: list[bool] | None = None) -> float:
        chosen = [g for i, g in enumerate(grads) if g is not None and (only is None or only[i])]
        return float(torch.sqrt(sum((g.double() ** 2).sum() for g in chosen)))

    reached = [g is not None and bool(g.abs().sum() > 0) for g in cwd]
    det_all, cwd_all = norm(detection), norm(cwd)
    det_reached = norm(detection, reached)
    return {
        "student": str(student_pt),
        "teacher": str(teacher_pt),
        "images": count,
        "imgsz": imgsz,
        "tau": tau,
        "loss_items": {k: round(float(v), 5) for k, v in items.items()},
        "params_reached_by_cwd": f"{sum(reached)} of {len(params)} tensors",
        "grad_norm_detection": round(det_all, 4),
        "grad_norm_detection_where_cwd_reaches": round(det_reached, 4),
        "grad_norm_cwd_weight1": round(cwd_all, 4),
        "cwd_weight_for_equal_norms": round(det_reached / max(cwd_all, 1e-12), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student", type=Path, required=True)
    parser.add_argument("--teacher", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--tau", type=float, default=4.0)
    args = parser.parse_args()
    print(
        json.dumps(
            gradient_norms(args.student, args.teacher, args.data, args.imgsz, args.images, args.tau), indent=1
        )
    )


if __name__ == "__main__":
    main()
