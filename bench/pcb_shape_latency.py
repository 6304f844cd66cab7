"""Latency of smaller shapes derived from the DeepPCB headline, before any training (issue #12).

Which further cut would take the headline (3.98x the default export) clearly past 4x? Each variant is
the headline checkpoint changed one way, lowered to OpenVINO INT8 (64 calibration images, the
backend's default bias correction, no per-model choice: accuracy is not scored) and timed interleaved
with the headline itself:

- ``cut F@layer=W``: the compiler's ``bn_prune`` on the headline, the global |γ| cut removing a further
  fraction F of its FLOPs, with ``layer_widths`` (the named convs cut to W channels, lowest |γ| first):
  the stem convs (model.0, model.1) take 15.5 % of the INT8 IR's time and the global cut leaves them
  whole (with a tiny F the FLOPs bisection still takes a few low-|γ| channels elsewhere, its
  smallest step);
- ``imgsz S``: the headline itself at a square input side S.

    python bench/pcb_shape_latency.py --model bench/models/pcb-yolov8n-prune-g75-r24b.pt \
        --data runs/pcb-data/data.yaml --sizes 288 --out bench/results/pcb-shape-latency.json

Timing: bench/pcb_int8_probes.py's ``interleaved_ms``, 20 rounds of 60 runs each after 30 warm-up
runs, the x86-cpu target's OpenVINO settings; ``x_first`` is the speed-up over the headline, paired
by round.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pcb_int8_probes import interleaved_ms


def parse_cut(spec: str) -> tuple[float, dict[str, int]]:
    """``"0.18@model.0=8+model.1=16"`` -> (0.18, {"model.0": 8, "model.1": 16}); the widths are optional."""
    ratio, _, widths = spec.partition("@")
    pairs = (item.split("=") for item in filter(None, widths.split("+")))
    return float(ratio), {name: int(width) for name, width in pairs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument(
        "--cuts",
        default="0.1,0.15,0.2,0.000001@model.0=8,0.000001@model.0=8+model.1=16,0.18@model.0=8",
        help="bn_prune cuts: FLOPs fraction of the global |γ| cut[@layer=width+...] (layer_widths)",
    )
    parser.add_argument("--sizes", default="288,256", help="input sides")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    from edgecompress.offline import enforce_offline

    enforce_offline()
    import openvino as ov

    from edgecompress.backends.openvino import OpenVINOBackend, load_config
    from edgecompress.config import load_target
    from edgecompress.measure.environment import cpu_model, isa_flags, package_versions
    from edgecompress.models.batchnorm_statistics import recalibration_batches
    from edgecompress.models.yolo import load_detector
    from edgecompress.passes.bn_prune import BNPruneConfig, prune_by_bn_scale

    work = Path(tempfile.mkdtemp(prefix="shape-latency-"))
    detector = load_detector(args.model)
    imgsz = detector.train_imgsz
    batches = recalibration_batches(args.data, imgsz, 64)
    profile, backend = load_target("x86-cpu"), OpenVINOBackend()
    variants: list[tuple[str, Any, int]] = [("headline", detector, imgsz)]
    for index, cut in enumerate(filter(None, args.cuts.split(","))):
        ratio, widths = parse_cut(cut)
        config = BNPruneConfig(
            ratio=ratio, target="flops", criterion="global", round_to=8, layer_widths=widths
        )
        model, _ = prune_by_bn_scale(detector.torch_model, config, imgsz, batches)
        variants.append((f"cut {cut}", detector.with_model(model, work / f"cut{index}.pt"), imgsz))
    variants += [(f"imgsz {s}", detector, int(s)) for s in filter(None, args.sizes.split(","))]

    core, requests, rows = ov.Core(), {}, {}
    for index, (name, variant, side) in enumerate(variants):
        side_batches = batches if side == imgsz else recalibration_batches(args.data, side, 64)
        calibration = [b[i : i + 1] for b in side_batches for i in range(len(b))]
        onnx = variant.export_onnx(work / f"onnx{index}", side, True, None)
        lowered = backend.lower(onnx, work / f"int8-{index}", profile, "int8", calibration)
        compiled = core.compile_model(str(lowered.model_file), "CPU", load_config(profile, "int8"))
        requests[name] = (compiled.create_infer_request(), side_batches[0][:1])
        params, gflops = variant.complexity(side)
        rows[name] = {"params_m": round(params / 1e6, 3), "gflops": round(gflops, 3), "imgsz": side}
        print(name, rows[name], flush=True)
    timings = interleaved_ms(requests, rounds=20, runs=60)
    for name, row in rows.items():
        row.update(timings[name])
        print(name, row, flush=True)
    result = {
        "cpu": cpu_model(),
        "isa": isa_flags(),
        "threads": profile.threads,
        "versions": package_versions(),
        "rows": rows,
        "command": "python bench/pcb_shape_latency.py " + " ".join(sys.argv[1:]),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
