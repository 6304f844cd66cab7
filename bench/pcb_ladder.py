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
  x86-cpu lowers them to take the letterboxed uint8 image (``lower.input_format`` auto), timed on those
  pixels, while the Ultralytics rows get the float batch already divided and transposed (untimed);
  with ``--guarded``, accuracy-controlled INT8 rows; with ``--float-input``, INT8 rows lowered to take
  Ultralytics' float32 NCHW input, as x86-cpu did before session 17; with
  ``--fp32``, OpenVINO FP32 rows of the compressed checkpoints (the pruning's own accuracy, without
  quantization); with ``--ir``, an OpenVINO IR built elsewhere (the quantization-aware-trained
  model of ``bench/pcb_qat.py``), compiled with OpenVINO's defaults and the target's threads,
  params and FLOPs from its checkpoint.

Every row records the precision OpenVINO says it ran (read back from the compiled model) and the
CPU's ISA flags. Accuracy: the shared letterbox + NMS (conf 0.001, IoU 0.7) and Ultralytics' own
matching/AP code, every val image. Latency: batch 1, the target's threads, 20 warm-up calls, then
300 calls per model in 10 interleaved rounds; medians. With ``--processes N`` the timing runs in N
fresh processes, each loading the rows in another order, and a row's p50 is the median of theirs
(on a 2-core VM the same IR measures up to ~10 % apart from one process to the next). An artifact
row runs at its own input size (its manifest's), the other rows at ``--imgsz``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pcb_data import deeppcb_copy
from vs_ultralytics import ultralytics_export, ultralytics_style

UL_DEFAULT = "Ultralytics export, OpenVINO defaults"
UL_F32 = "Ultralytics export, f32 forced"
UL_INT8 = "Ultralytics export quantize=8"
EC_INT8 = "edgecompress int8, unpruned"


FLOAT_INPUT = ["lower.input_format=float_nchw"]
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
    """Every model of the ladder: how to load each row, build wall times and the checkpoint each came from.

    A row's spec is plain JSON (``kind`` ultralytics / artifact / ir), so that timing worker
    processes (``--processes``) load exactly what the main process scores.
    """
    baseline = Path(args.baseline)
    specs: dict[str, dict] = {}
    build_s: dict[str, float | None] = {}
    source: dict[str, Path] = {}
    earlier = previous_build_seconds(Path(args.out)) if args.reuse else {}

    def exported(folder: Path, **extra: object) -> tuple[Path, float | None]:
        if args.reuse and any(folder.rglob("*.xml")):
            return next(folder.rglob("*.xml")), None
        return ultralytics_export(baseline, args.imgsz, folder, **extra)

    def ultralytics_row(xml: Path, force_f32: bool) -> dict:
        return {"kind": "ultralytics", "xml": str(xml), "force_f32": force_f32, "imgsz": args.imgsz}

    xml, seconds = exported(work / "ul-fp32")
    specs[UL_DEFAULT], build_s[UL_DEFAULT] = ultralytics_row(xml, False), seconds
    specs[UL_F32], build_s[UL_F32] = ultralytics_row(xml, True), seconds
    xml8, seconds = exported(work / "ul-int8", quantize=8, data=str(data))
    specs[UL_INT8], build_s[UL_INT8] = ultralytics_row(xml8, False), seconds
    source.update(dict.fromkeys((UL_DEFAULT, UL_F32, UL_INT8), baseline))
    models = [(EC_INT8, baseline, None)] + [
        (f"edgecompress int8, {label}", Path(path), None)
        for label, path in (item.split("=", 1) for item in args.compressed)
    ]
    models += [
        (f"edgecompress int8 guarded (≤ 0.5 pts on train), {label}", Path(path), GUARD)
        for label, path in (item.split("=", 1) for item in args.guarded)
    ]
    models += [
        (f"edgecompress int8, float input, {label}", Path(path), FLOAT_INPUT)
        for label, path in (item.split("=", 1) for item in args.float_input)
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
        specs[name], build_s[name], source[name] = (
            {"kind": "artifact", "folder": str(folder)},
            seconds,
            checkpoint,
        )
    for label, xml, checkpoint in (item.split("=", 2) for item in args.ir):
        precision = "fp32" if label.startswith("fp32") else "int8"
        named = label.startswith(("fp32", "int8"))
        name = f"edgecompress {label}" if named else f"edgecompress int8, {label}"
        specs[name] = {"kind": "ir", "xml": xml, "precision": precision, "imgsz": args.imgsz}
        build_s[name], source[name] = None, Path(checkpoint)
    for name, seconds in build_s.items():
        if seconds is None:
            build_s[name] = earlier.get(name)
    return specs, build_s, source


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


def row_runtime(spec: dict) -> tuple[Any, int]:
    """The runtime a row spec names and the input side it runs at (an artifact's: its manifest's)."""
    from edgecompress.config import load_target
    from edgecompress.runtime.detector import load

    if spec["kind"] == "ultralytics":
        return ultralytics_style(Path(spec["xml"]), load_target("x86-cpu").threads, spec["force_f32"]), spec[
            "imgsz"
        ]
    if spec["kind"] == "ir":
        return prebuilt_ir(Path(spec["xml"]), spec["precision"]), spec["imgsz"]
    detector = load(spec["folder"])
    return detector.runtime, detector.imgsz


def timing_batches(data: Path, sides: set[int]) -> dict[int, Any]:
    """The first val image, letterboxed at each input side: the one input every row is timed on."""
    from edgecompress.data import load_split
    from edgecompress.runtime.preprocess import preprocess, read_image

    image = read_image(load_split(data, "val").images[0])
    return {side: preprocess([image], side)[0] for side in sides}


def time_rows(specs: dict[str, dict], data: Path, iterations: int) -> dict[str, dict]:
    """Load every row, then time them interleaved (20 warm-up calls, 10 rounds); p50/p95/FPS per row."""
    from edgecompress.measure.latency import time_calls

    loaded = {name: row_runtime(spec) for name, spec in specs.items()}
    batches = timing_batches(data, {side for _, side in loaded.values()})
    calls = {
        name: partial(runtime, runtime.native_input(batches[side]))
        for name, (runtime, side) in loaded.items()
    }
    latency = time_calls(calls, warmup=20, iterations=iterations, rounds=10)
    return {
        name: {"p50_ms": lat.p50_ms, "p95_ms": lat.p95_ms, "fps": lat.fps} for name, lat in latency.items()
    }


def time_in_processes(specs: dict[str, dict], data: Path, iterations: int, processes: int) -> dict[str, dict]:
    """:func:`time_rows` in ``processes`` fresh Python processes, each loading the rows in another order.

    One process's figures move by up to ~10 % with the process (the same IR timed in two processes,
    or twice in one, differs that much on this VM); the row's p50 is the median of the processes'
    p50s, and every process's p50 is kept.
    """
    import subprocess
    import tempfile

    per_process: list[dict[str, dict]] = []
    names = list(specs)
    for index in range(processes):
        order = names[index % len(names) :] + names[: index % len(names)]
        with tempfile.TemporaryDirectory(prefix="ladder-timing-") as folder:
            spec_file, out_file = Path(folder) / "specs.json", Path(folder) / "timings.json"
            spec_file.write_text(json.dumps({name: specs[name] for name in order}))
            command = [
                sys.executable,
                __file__,
                "--timing-worker",
                str(spec_file),
                "--worker-out",
                str(out_file),
            ]
            command += ["--data-copy", str(data.parent), "--iterations", str(iterations)]
            subprocess.run(command, check=True)
            per_process.append(json.loads(out_file.read_text()))
        print(f"timing process {index + 1}/{processes}:", json.dumps(per_process[-1]), flush=True)
    result = {}
    for name in names:
        p50s = [run[name]["p50_ms"] for run in per_process]
        p50 = float(np.median(p50s))
        result[name] = {
            "p50_ms": p50,
            "p95_ms": float(np.median([run[name]["p95_ms"] for run in per_process])),
            "fps": 1000.0 / p50,
            "p50_ms_per_process": [round(v, 3) for v in p50s],
        }
    return result


def measure(args: argparse.Namespace, data: Path, work: Path) -> list[dict]:
    """Build, time interleaved (in ``--processes`` fresh processes when > 0), score; one dict per row."""
    from edgecompress.data import load_split
    from edgecompress.measure.accuracy import evaluate
    from edgecompress.models.yolo import load_detector

    specs, build_s, source = build(args, data, work)
    if args.processes:
        latency = time_in_processes(specs, data, args.iterations, args.processes)
    else:
        latency = time_rows(specs, data, args.iterations)
    split = load_split(data, "val")
    rows = []
    for name, spec in specs.items():
        runtime, side = row_runtime(spec)
        acc = evaluate(runtime, split, side, label=name)
        params, gflops = load_detector(source[name]).complexity(side)
        timing = latency[name]
        rows.append(
            {
                "model": name,
                "checkpoint": source[name].as_posix(),
                "imgsz": side,
                "executed_precision": runtime.executed_precision,
                "params_m": round(params / 1e6, 3),
                "gflops": round(gflops, 3),
                "map50": round(acc.map50, 4),
                "map50_95": round(acc.map50_95, 4),
                "p50_ms": round(timing["p50_ms"], 2),
                "p95_ms": round(timing["p95_ms"], 2),
                "fps": round(timing["fps"], 1),
                "val_images": acc.images,
                "build_s": None if build_s[name] is None else round(build_s[name], 1),
            }
        )
        if "p50_ms_per_process" in timing:
            rows[-1]["p50_ms_per_process"] = timing["p50_ms_per_process"]
        del runtime
        print(json.dumps(rows[-1]), flush=True)
    return rows


def per_process_speedups(row: dict, peer: dict) -> list[float]:
    """``peer``'s p50 over ``row``'s in each timing process (the two timed in the same process)."""
    pairs = zip(peer.get("p50_ms_per_process", []), row.get("p50_ms_per_process", []), strict=True)
    return [peer_ms / own_ms for peer_ms, own_ms in pairs]


def speedup(row: dict, peer: dict) -> float:
    """How many times ``peer``'s FPS ``row`` runs at: with ``--processes``, the median of the ratios paired
    within each process (the processes move both rows together, by up to ~10 %); else the FPS ratio."""
    paired = per_process_speedups(row, peer)
    return float(np.median(paired)) if paired else row["fps"] / peer["fps"]


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
                "x_ul_default_fps": round(speedup(r, ul_default), 2),
                "x_ul_int8_fps": round(speedup(r, ul_int8), 2),
                "x_ul_default_of_medians": round(r["fps"] / ul_default["fps"], 2),
                "x_ul_default_per_process": [round(x, 2) for x in per_process_speedups(r, ul_default)],
                "vs_ul_int8_map50_95_pts": round(100 * (r["map50_95"] - ul_int8["map50_95"]), 2),
                "target_flops_75_at_2pts_map50": flops_removed >= 0.75 and ref["map50"] - r["map50"] <= 0.02,
                "target_4x_ul_default_at_1pt": speedup(r, ul_default) >= 4
                and ref["map50_95"] - r["map50_95"] <= 0.01,
                "target_2x_ul_int8_at_half_pt": speedup(r, ul_int8) >= 2
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
        "| model | ran in | imgsz | params M | GFLOPs | mAP50 | mAP50-95 | p50 ms | p50 ms per process "
        "| FPS |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        per_process = " / ".join(f"{v:.2f}" for v in r.get("p50_ms_per_process", [])) or "–"
        lines.append(
            f"| {r['model']} | {r['executed_precision']} | {r.get('imgsz', result['imgsz'])} | "
            f"{r['params_m']:.3f} | {r['gflops']:.2f} | {r['map50']:.4f} | {r['map50_95']:.4f} | "
            f"{r['p50_ms']:.2f} | {per_process} | {r['fps']:.1f} |"
        )
    lines += [
        "",
        "| model | FLOPs removed | Δ mAP50 pts | Δ mAP50-95 pts | × UL default FPS | per process "
        "| of medians | × UL quantize=8 FPS | vs UL int8 mAP50-95 pts | ≥75 % @ ≤2 pts | ≥4× @ ≤1 pt "
        "| ≥2× UL int8 @ ≤0.5 pt |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in result["targets"]:
        per_process = " / ".join(f"{v:.2f}" for v in c.get("x_ul_default_per_process", [])) or "–"
        lines.append(
            f"| {c['model']} | {100 * c['flops_removed']:.1f} % | {-c['map50_loss_pts']:+.2f} | "
            f"{-c['map50_95_loss_pts']:+.2f} | {c['x_ul_default_fps']:.2f} | {per_process} | "
            f"{c.get('x_ul_default_of_medians', c['x_ul_default_fps']):.2f} | "
            f"{c['x_ul_int8_fps']:.2f} | "
            f"{c['vs_ul_int8_map50_95_pts']:+.2f} | "
            f"{'yes' if c['target_flops_75_at_2pts_map50'] else 'no'} | "
            f"{'yes' if c['target_4x_ul_default_at_1pt'] else 'no'} | "
            f"{'yes' if c['target_2x_ul_int8_at_half_pt'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def write_result(result: dict, args: argparse.Namespace) -> None:
    """The run's JSON, Markdown table and Pareto plot at --out, --md and --plot."""
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    Path(args.md).write_text(markdown(result))
    title = f"DeepPCB YOLOv8n at {result['imgsz']}, {result['environment']['cpu']}"
    pareto_plot(result["rows"], Path(args.plot), title)
    print(markdown(result))


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
        "--float-input",
        action="append",
        default=[],
        metavar="LABEL=CHECKPOINT",
        help="also an INT8 row lowered to take Ultralytics' float NCHW input (lower.input_format=float_nchw)",
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
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        help="time in this many fresh processes, each loading the rows in another order; a row's p50 is "
        "their median (0: time in this process)",
    )
    parser.add_argument(
        "--retarget",
        type=Path,
        help="re-derive the targets, table and plot of an earlier run's --out JSON (no building or timing)",
    )
    parser.add_argument("--timing-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", default="runs/pcb-ladder")
    parser.add_argument("--data-copy", default="runs/pcb-data")
    parser.add_argument("--out", default="bench/results/pcb-ladder.json")
    parser.add_argument("--md", default="bench/results/pcb-ladder.md")
    parser.add_argument("--plot", default="bench/results/pcb-ladder.png")
    args = parser.parse_args()

    from edgecompress.offline import enforce_offline

    enforce_offline()
    if args.timing_worker:  # one timing process of --processes
        timings = time_rows(
            json.loads(args.timing_worker.read_text()), Path(args.data_copy) / "data.yaml", args.iterations
        )
        args.worker_out.write_text(json.dumps(timings))
        return
    if args.retarget:
        result = json.loads(args.retarget.read_text())
        result["targets"] = targets(result["rows"])
        result["retargeted"] = shlex.join(["python", "bench/pcb_ladder.py", *sys.argv[1:]])
        write_result(result, args)
        return
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
    write_result(result, args)


if __name__ == "__main__":
    main()
