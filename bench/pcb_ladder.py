"""The DeepPCB ladder (issue #12): Ultralytics' OpenVINO exports as their users run them against
edgecompress INT8 of the same model and of compressed models, timed interleaved and scored on the
full val split in one run.

    python bench/pcb_ladder.py --shared ../shared/data \
        --compressed "prune 50.5 %=bench/models/pcb-yolov8n-compressed.pt" \
        --out bench/results/pcb-ladder.json --md bench/results/pcb-ladder.md \
        --plot bench/results/pcb-ladder.png

Rows:
- Ultralytics ``export(format="openvino")`` loaded as Ultralytics' runtime loads it (``compile_model``
  with ``PERFORMANCE_HINT=LATENCY`` only): OpenVINO picks the float type, bf16 on CPUs with BF16;
- the same IR with ``INFERENCE_PRECISION_HINT=f32`` forced (what the earlier harness measured);
- Ultralytics ``export(format="openvino", quantize=8, data=...)`` with OpenVINO's defaults;
- ``edgecompress compile --precision int8`` of the baseline and of each ``--compressed`` checkpoint;
  ``--reuse`` times and scores the builds of an earlier run again (a quieter machine), build times
  kept from its ``--out``;
  with ``--guarded``, accuracy-controlled INT8 rows; with ``--fp32``, OpenVINO FP32 rows of the
  compressed checkpoints (the pruning's own accuracy, without quantization); with ``--ir``, an
  OpenVINO IR built elsewhere (the quantization-aware-trained model of ``bench/pcb_qat.py``),
  compiled with OpenVINO's defaults and the target's threads, params and FLOPs from its checkpoint.

Every row records the precision OpenVINO says it ran (read back from the compiled model) and the
CPU's ISA flags. Accuracy: the shared letterbox + NMS (conf 0.001, IoU 0.7) and Ultralytics' own
matching/AP code, every val image. Latency: batch 1, the target's threads, 20 warm-up calls, then
300 calls per model in 10 interleaved rounds; medians.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pcb_data import deeppcb_copy
from vs_ultralytics import ultralytics_export, ultralytics_style

UL_DEFAULT = "Ultralytics export, OpenVINO defaults"
UL_F32 = "Ultralytics export, f32 forced"
UL_INT8 = "Ultralytics export quantize=8"
EC_INT8 = "edgecompress int8, unpruned"


GUARD = [
    "lower.accuracy_guard.max_drop=0.005",
    "lower.accuracy_guard.split=train",
    "lower.accuracy_guard.images=200",
]


def compile_row(
    checkpoint: Path, data: Path, out: Path, extra: list[str] | None = None, precision: str = "int8"
) -> tuple[Path, float]:
    """``edgecompress compile CKPT --data DATA --target x86-cpu --precision PRECISION``; folder, wall s.

    The compile's own comparison rows (PyTorch original, FP32 baseline) are skipped with
    ``measure.baseline=false``: the ladder measures every model itself, and the lowered model is the same.
    ``extra`` adds ``--set`` overrides (``GUARD``: the accuracy-controlled INT8 of ``--guarded`` rows).
    """
    import edgecompress

    start = time.perf_counter()
    folder = edgecompress.compile(
        checkpoint,
        data,
        target="x86-cpu",
        precision=precision,
        out=out,
        force=True,
        overrides=["measure.baseline=false", *(extra or [])],
    )
    return folder, time.perf_counter() - start


def build(args: argparse.Namespace, data: Path, work: Path) -> tuple[dict, dict, dict]:
    """Every model of the ladder: runtimes, build wall times and the checkpoint each came from."""
    from edgecompress.config import load_target
    from edgecompress.runtime.detector import load

    threads = load_target("x86-cpu").threads
    baseline = Path(args.baseline)
    runtimes: dict[str, Any] = {}
    build_s: dict[str, float | None] = {}
    source: dict[str, Path] = {}
    earlier = previous_build_seconds(Path(args.out)) if args.reuse else {}

    def exported(folder: Path, **extra: object) -> tuple[Path, float | None]:
        if args.reuse and any(folder.rglob("*.xml")):
            return next(folder.rglob("*.xml")), None
        return ultralytics_export(baseline, args.imgsz, folder, **extra)

    xml, seconds = exported(work / "ul-fp32")
    runtimes[UL_DEFAULT], build_s[UL_DEFAULT] = ultralytics_style(xml, threads, force_f32=False), seconds
    runtimes[UL_F32], build_s[UL_F32] = ultralytics_style(xml, threads, force_f32=True), seconds
    xml8, seconds = exported(work / "ul-int8", quantize=8, data=str(data))
    runtimes[UL_INT8], build_s[UL_INT8] = ultralytics_style(xml8, threads, force_f32=False), seconds
    source.update(dict.fromkeys((UL_DEFAULT, UL_F32, UL_INT8), baseline))
    models = [(EC_INT8, baseline, None)] + [
        (f"edgecompress int8, {label}", Path(path), None)
        for label, path in (item.split("=", 1) for item in args.compressed)
    ]
    models += [
        (f"edgecompress int8 guarded (≤ 0.5 pts on train), {label}", Path(path), GUARD)
        for label, path in (item.split("=", 1) for item in args.guarded)
    ]
    models = [(name, path, extra, "int8") for name, path, extra in models]
    if args.fp32:
        models += [
            (f"edgecompress fp32, {label}", Path(path), None, "fp32")
            for label, path in (item.split("=", 1) for item in args.compressed)
        ]
    for index, (name, checkpoint, extra, precision) in enumerate(models):
        folder, seconds = work / f"ec-{index}", None
        if not (args.reuse and (folder / "report.json").exists()):
            folder, seconds = compile_row(checkpoint, data, folder, extra, precision)
        runtimes[name], build_s[name], source[name] = load(folder).runtime, seconds, checkpoint
    for label, xml, checkpoint in (item.split("=", 2) for item in args.ir):
        precision = "fp32" if label.startswith("fp32") else "int8"
        named = label.startswith(("fp32", "int8"))
        name = f"edgecompress {label}" if named else f"edgecompress int8, {label}"
        runtimes[name], build_s[name] = prebuilt_ir(Path(xml), precision), None
        source[name] = Path(checkpoint)
    for name, seconds in build_s.items():
        if seconds is None:
            build_s[name] = earlier.get(name)
    return runtimes, build_s, source


def prebuilt_ir(xml: Path, precision: str) -> Any:
    """An IR built outside the ladder, compiled with the settings of the compiler's rows of ``precision``."""
    import openvino as ov

    from edgecompress.backends.openvino import load_config
    from edgecompress.backends.openvino_runtime import OpenVINORuntime
    from edgecompress.config import load_target

    config = load_config(load_target("x86-cpu"), precision)
    return OpenVINORuntime(ov.Core().compile_model(str(xml), "CPU", config), precision, "CPU")


def previous_build_seconds(result_json: Path) -> dict[str, float]:
    """Build wall times of an earlier run's rows (``--reuse`` times and scores its builds again)."""
    if not result_json.exists():
        return {}
    return {row["model"]: row["build_s"] for row in json.loads(result_json.read_text())["rows"]}


def measure(args: argparse.Namespace, data: Path, work: Path) -> list[dict]:
    """Build, time interleaved, score; one dict per row."""
    from edgecompress.data import load_split
    from edgecompress.measure.accuracy import evaluate
    from edgecompress.measure.latency import measure_latency
    from edgecompress.models.yolo import load_detector
    from edgecompress.runtime.preprocess import preprocess, read_image

    runtimes, build_s, source = build(args, data, work)
    split = load_split(data, "val")
    batch, _ = preprocess([read_image(split.images[0])], args.imgsz)
    latency = measure_latency(runtimes, batch, warmup=20, iterations=args.iterations, rounds=10)
    rows = []
    for name, runtime in runtimes.items():
        acc = evaluate(runtime, split, args.imgsz, label=name)
        params, gflops = load_detector(source[name]).complexity(args.imgsz)
        rows.append(
            {
                "model": name,
                "checkpoint": source[name].as_posix(),
                "executed_precision": runtime.executed_precision,
                "params_m": round(params / 1e6, 3),
                "gflops": round(gflops, 3),
                "map50": round(acc.map50, 4),
                "map50_95": round(acc.map50_95, 4),
                "p50_ms": round(latency[name].p50_ms, 2),
                "p95_ms": round(latency[name].p95_ms, 2),
                "fps": round(latency[name].fps, 1),
                "val_images": acc.images,
                "build_s": None if build_s[name] is None else round(build_s[name], 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def targets(rows: list[dict]) -> list[dict]:
    """Issue #12's three targets for every compressed row, against the baseline rows of the same run."""
    by = {r["model"]: r for r in rows}
    ref, ul_default, ul_int8 = by[UL_F32], by[UL_DEFAULT], by[UL_INT8]
    checks = []
    for r in rows:
        if not r["model"].startswith("edgecompress"):
            continue
        flops_removed = 1 - r["gflops"] / ref["gflops"]
        checks.append(
            {
                "model": r["model"],
                "flops_removed": round(flops_removed, 4),
                "map50_loss_pts": round(100 * (ref["map50"] - r["map50"]), 2),
                "map50_95_loss_pts": round(100 * (ref["map50_95"] - r["map50_95"]), 2),
                "x_ul_default_fps": round(r["fps"] / ul_default["fps"], 2),
                "x_ul_int8_fps": round(r["fps"] / ul_int8["fps"], 2),
                "vs_ul_int8_map50_95_pts": round(100 * (r["map50_95"] - ul_int8["map50_95"]), 2),
                "target_flops_75_at_2pts_map50": flops_removed >= 0.75 and ref["map50"] - r["map50"] <= 0.02,
                "target_4x_ul_default_at_1pt": r["fps"] >= 4 * ul_default["fps"]
                and ref["map50_95"] - r["map50_95"] <= 0.01,
                "target_2x_ul_int8_at_half_pt": r["fps"] >= 2 * ul_int8["fps"]
                and ul_int8["map50_95"] - r["map50_95"] <= 0.005,
            }
        )
    return checks


def pareto_plot(rows: list[dict], path: Path, title: str) -> None:
    """FPS against mAP50-95, every row labelled, the Pareto front drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for index, r in enumerate(rows):
        ours = r["model"].startswith("edgecompress")
        ax.scatter(r["fps"], r["map50_95"], marker="o" if ours else "s", color="C0" if ours else "C3")
        ax.annotate(
            f"{r['model']} ({r['executed_precision']})",
            (r["fps"], r["map50_95"]),
            xytext=(5, -12 * (index % 3) + 4),
            textcoords="offset points",
            fontsize=7,
        )
    front, best = [], -1.0
    for r in sorted(rows, key=lambda r: -r["fps"]):
        if r["map50_95"] > best:
            front.append(r)
            best = r["map50_95"]
    ax.plot([r["fps"] for r in front], [r["map50_95"] for r in front], "--", color="gray", lw=1)
    ax.set_xlabel("FPS (batch 1, median)")
    ax.set_ylabel(f"mAP50-95, DeepPCB val ({rows[0]['val_images']} images)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(result: dict) -> str:
    """The table and the target checks as Markdown."""
    env = result["environment"]
    lines = [
        f"DeepPCB val ({result['rows'][0]['val_images']} images), imgsz {result['imgsz']}, batch 1, "
        f"{env['threads']} threads; "
        f"CPU {env['cpu']}, ISA {', '.join(env['isa'])}; OpenVINO reports "
        f"`OPTIMIZATION_CAPABILITIES` {env['openvino_capabilities']}.",
        "",
        f"Command: `{result['command']}`",
        "",
        "| model | ran in | params M | GFLOPs | mAP50 | mAP50-95 | p50 ms | FPS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['model']} | {r['executed_precision']} | {r['params_m']:.3f} | {r['gflops']:.2f} | "
            f"{r['map50']:.4f} | {r['map50_95']:.4f} | {r['p50_ms']:.2f} | {r['fps']:.1f} |"
        )
    lines += [
        "",
        "| model | FLOPs removed | Δ mAP50 pts | Δ mAP50-95 pts | × UL default FPS | × UL quantize=8 FPS "
        "| vs UL int8 mAP50-95 pts | ≥75 % @ ≤2 pts | ≥4× @ ≤1 pt | ≥2× UL int8 @ ≤0.5 pt |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in result["targets"]:
        lines.append(
            f"| {c['model']} | {100 * c['flops_removed']:.1f} % | {-c['map50_loss_pts']:+.2f} | "
            f"{-c['map50_95_loss_pts']:+.2f} | {c['x_ul_default_fps']:.2f} | {c['x_ul_int8_fps']:.2f} | "
            f"{c['vs_ul_int8_map50_95_pts']:+.2f} | "
            f"{'yes' if c['target_flops_75_at_2pts_map50'] else 'no'} | "
            f"{'yes' if c['target_4x_ul_default_at_1pt'] else 'no'} | "
            f"{'yes' if c['target_2x_ul_int8_at_half_pt'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared/data")
    parser.add_argument("--baseline", default="bench/models/pcb-yolov8n.pt")
    parser.add_argument("--compressed", action="append", default=[], metavar="LABEL=CHECKPOINT")
    parser.add_argument(
        "--guarded",
        action="append",
        default=[],
        metavar="LABEL=CHECKPOINT",
        help="also an accuracy-guarded INT8 row (NNCF accuracy control, max drop 0.005 on 200 train images)",
    )
    parser.add_argument(
        "--fp32", action="store_true", help="also an OpenVINO FP32 row of every --compressed checkpoint"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time and score again the builds already in --work (same arguments as the run that made them)",
    )
    parser.add_argument(
        "--ir",
        action="append",
        default=[],
        metavar="LABEL=XML=CHECKPOINT",
        help="also a row for an OpenVINO IR built elsewhere (another compile, bench/pcb_qat.py), FLOPs from "
        "CHECKPOINT; a LABEL starting with 'fp32' runs it as the FP32 rows run",
    )
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--work", default="runs/pcb-ladder")
    parser.add_argument("--data-copy", default="runs/pcb-data")
    parser.add_argument("--out", default="bench/results/pcb-ladder.json")
    parser.add_argument("--md", default="bench/results/pcb-ladder.md")
    parser.add_argument("--plot", default="bench/results/pcb-ladder.png")
    args = parser.parse_args()

    from edgecompress.offline import enforce_offline

    enforce_offline()
    import openvino as ov

    from edgecompress.config import load_target
    from edgecompress.measure.environment import cpu_model, isa_flags, package_versions

    data = deeppcb_copy(Path(args.shared), Path(args.data_copy))
    rows = measure(args, data, Path(args.work))
    result = {
        "imgsz": args.imgsz,
        "environment": {
            "cpu": cpu_model(),
            "isa": isa_flags(),
            "openvino_capabilities": ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"),
            "threads": load_target("x86-cpu").threads,
            "versions": package_versions(),
        },
        "rows": rows,
        "targets": targets(rows),
        "command": shlex.join(["python", "bench/pcb_ladder.py", *sys.argv[1:]]),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    Path(args.md).write_text(markdown(result))
    pareto_plot(rows, Path(args.plot), f"DeepPCB YOLOv8n at {args.imgsz}, {result['environment']['cpu']}")
    print(markdown(result))


if __name__ == "__main__":
    main()
