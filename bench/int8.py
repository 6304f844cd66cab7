"""INT8 on the demo model (issue #4): plain PTQ, accuracy-guarded PTQ, Ultralytics' INT8, calibration size.

    python bench/int8.py --out bench/results/int8.json

Models, all at imgsz 320 on the bundled digits YOLOv8n (train 480 / val 200 images):
- OpenVINO FP32 and edgecompress INT8 plain PTQ (default calibration: 300 seeded train images);
- edgecompress INT8 accuracy-guarded (``lower.accuracy_guard``, max_drop 0.003 mAP50-95) validated
  on the val split (the split it is scored on) and, held out, on 200 train images;
- Ultralytics ``export(format="openvino", quantize=8, data=...)`` (calibrates on val);
- plain PTQ with 32 / 128 / 512 seeded calibration images (512 > 480: all of the train split) and
  32 stratified ones.
Each is built by ``edgecompress.compile`` (measure.baseline=false) or Ultralytics' exporter, then all
are timed and scored side by side by the harness of ``bench/vs_ultralytics.py``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from vs_ultralytics import measure_side_by_side, ultralytics_exports

IMGSZ = 320
MAX_DROP = 0.003


def _calibration_yaml(work: Path, count: int, selection: str) -> Path:
    path = work / f"calib-{selection}-{count}.yaml"
    path.write_text(f"split: train\ncount: {count}\nselection: {selection}\nseed: 0\n")
    return path


def edgecompress_variants(checkpoint: Path, data: Path, work: Path) -> dict[str, tuple[Path, float, dict]]:
    """Compile each edgecompress variant; returns artifact folder, wall seconds and lowering details."""
    import edgecompress
    from edgecompress.report import Report

    guard = [f"lower.accuracy_guard.max_drop={MAX_DROP}", "lower.accuracy_guard.max_reverted=8"]
    held_out = ["lower.accuracy_guard.split=train", "lower.accuracy_guard.images=200"]
    variants = {
        "OpenVINO FP32": ("fp32", []),
        "edgecompress INT8 PTQ (300 seeded)": ("int8", []),
        "edgecompress INT8 guarded, val": ("int8", guard),
        "edgecompress INT8 guarded, 200 train (held out)": ("int8", [*guard, *held_out]),
    }
    for count in (32, 128, 512):
        key = f"edgecompress INT8 PTQ ({count} seeded)"
        variants[key] = ("int8", [f"lower.calibration={_calibration_yaml(work, count, 'seeded')}"])
    variants["edgecompress INT8 PTQ (32 stratified)"] = (
        "int8",
        [f"lower.calibration={_calibration_yaml(work, 32, 'stratified')}"],
    )
    out = {}
    for i, (key, (precision, sets)) in enumerate(variants.items()):
        start = time.perf_counter()
        folder = edgecompress.compile(
            checkpoint,
            data,
            precision=precision,
            out=work / f"ec-{i}",
            overrides=["measure.baseline=false", *sets],
        )
        details = Report.read(folder / "report.json").row("result").details
        out[key] = (folder, time.perf_counter() - start, details)
        print(key, round(out[key][1], 1), "s", json.dumps(details.get("accuracy_guard", {})), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench/results/int8.json")
    args = parser.parse_args()

    from edgecompress.offline import enforce_offline

    enforce_offline()
    from edgecompress.backends import get_backend
    from edgecompress.config import load_target
    from edgecompress.demo import demo_checkpoint, demo_data_yaml
    from edgecompress.measure.environment import cpu_model, package_versions
    from edgecompress.runtime.detector import load

    work = Path(tempfile.mkdtemp(prefix="bench-int8-"))
    checkpoint, data = demo_checkpoint(), demo_data_yaml()
    runtimes, build_s, details = {}, {}, {}
    for key, (folder, seconds, lowered) in edgecompress_variants(checkpoint, data, work).items():
        runtimes[key], build_s[key], details[key] = load(folder).runtime, seconds, lowered
    xml, seconds = ultralytics_exports(checkpoint, data, IMGSZ, work)["int8"]
    key = "Ultralytics export openvino int8 (calibrates on val)"
    profile = load_target("x86-cpu")
    runtimes[key], build_s[key] = get_backend("openvino").load(xml, profile, "int8"), seconds
    rows = measure_side_by_side("demo", checkpoint.name, runtimes, build_s, data, IMGSZ)
    for row in rows:
        guard = details.get(row["method"], {}).get("accuracy_guard")
        if guard:
            row["guard"] = guard
    result = {
        "cpu": cpu_model(),
        "threads": profile.threads,
        "versions": package_versions(),
        "rows": rows,
        "command": f"python bench/int8.py --out {args.out}",
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
