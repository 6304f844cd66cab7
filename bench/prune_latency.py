"""Latency of pruned shapes before any training: which channel ratio and ``round_to`` reach a speed-up.

Each variant is the model pruned uniformly by BN scale (statistics repaired), lowered to OpenVINO
INT8 (64 calibration images; accuracy is not the point here) and timed interleaved with the unpruned
FP32 and INT8 models: batch 1, the x86-cpu target's threads, 20 warm-up calls, 300 calls in 10
rounds, medians.

    python bench/prune_latency.py --model bench/models/pcb-yolov8n.pt --data runs/pcb-data/data.yaml \
        --variants 0.5:8,0.505:1,0.6:8,0.6:1,0.65:8 --out bench/results/pcb-prune-latency.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--variants", default="0.5:8,0.505:1,0.6:8,0.6:1,0.65:8", help="ratio:round_to,...")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    from edgecompress.offline import enforce_offline

    enforce_offline()
    from edgecompress.backends.openvino import OpenVINOBackend
    from edgecompress.config import load_target
    from edgecompress.measure.environment import cpu_model, isa_flags, package_versions
    from edgecompress.measure.latency import measure_latency
    from edgecompress.models.batchnorm_statistics import recalibration_batches
    from edgecompress.models.yolo import load_detector
    from edgecompress.passes.bn_prune import BNPruneConfig, prune_by_bn_scale

    work = Path(tempfile.mkdtemp(prefix="prune-latency-"))
    detector = load_detector(args.model)
    batches = recalibration_batches(args.data, args.imgsz, 64)
    calibration = [b[i : i + 1] for b in batches for i in range(len(b))]
    profile, backend = load_target("x86-cpu"), OpenVINOBackend()
    runtimes, sizes = {}, {}
    variants = [("unpruned", None)] + [
        (f"ratio {v} round_to {r}", (float(v), int(r)))
        for v, r in (item.split(":") for item in args.variants.split(","))
    ]
    for index, (name, prune) in enumerate(variants):
        variant = detector
        if prune:
            config = BNPruneConfig(ratio=prune[0], criterion="uniform", round_to=prune[1])
            model, _ = prune_by_bn_scale(detector.torch_model, config, args.imgsz, batches)
            variant = detector.with_model(model, work / f"{index}.pt")
        onnx = variant.export_onnx(work / f"onnx{index}", args.imgsz, True, None)
        sizes[name] = variant.complexity(args.imgsz)
        lowered = backend.lower(onnx, work / f"int8-{index}", profile, "int8", calibration)
        runtimes[f"{name}, int8"] = backend.load(lowered.model_file, profile, "int8")
        if not prune:
            lowered = backend.lower(onnx, work / "fp32", profile, "fp32")
            runtimes[f"{name}, fp32"] = backend.load(lowered.model_file, profile, "fp32")
    latency = measure_latency(runtimes, batches[0][:1], warmup=20, iterations=300, rounds=10)
    reference = latency["unpruned, fp32"].p50_ms
    rows = []
    for key, runtime in runtimes.items():
        params, gflops = sizes[key.rsplit(", ", 1)[0]]
        rows.append(
            {
                "model": key,
                "params_m": round(params / 1e6, 3),
                "gflops": round(gflops, 3),
                "executed_precision": runtime.executed_precision,
                "p50_ms": round(latency[key].p50_ms, 2),
                "x_unpruned_fp32": round(reference / latency[key].p50_ms, 2),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    result = {
        "cpu": cpu_model(),
        "isa": isa_flags(),
        "threads": profile.threads,
        "versions": package_versions(),
        "rows": rows,
        "command": "python bench/prune_latency.py " + " ".join(sys.argv[1:]),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
