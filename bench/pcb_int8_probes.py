"""Where an INT8 DeepPCB IR spends its time, and two settings that could make it faster (issue #12).

    python bench/pcb_int8_probes.py --artifact runs/headline --data runs/pcb-data/data.yaml \
        --out bench/results/pcb-int8-probes.json

- ``profile``: OpenVINO's per-op counters (``PERF_COUNT``) over 50 runs of the artifact's INT8 IR,
  summed by op type and kernel precision, and the slowest ops;
- ``threads``: the same IR with 2 (the x86-cpu target's), 1 and 2 unpinned inference threads;
- ``stem``: the artifact's FP32 ONNX quantized three ways (the compiler's ignored scope; plus the first
  convolution; plus the first two kept float), 32 calibration images and NNCF's fast bias correction
  (timing only: the accuracy of these IRs is not scored).

Timing: median over 10 interleaved rounds of the per-round median of 40 runs, one letterboxed val
image, after 30 warm-up runs; the precision OpenVINO ran the float parts in is read back.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

STEM = ["/model.0/conv/Conv/WithoutBiases", "/model.1/conv/Conv/WithoutBiases"]


def interleaved_ms(requests: dict[str, tuple[Any, np.ndarray]], rounds: int = 10, runs: int = 40) -> dict:
    """Per-round medians (ms) of requests timed in turn, each fed its own input.

    Per request: the median and the fastest of its round medians, and ``x_first``, the median over
    rounds of the first request's round median over this one's (paired by round, so a slow stretch of
    the machine slows both sides of each ratio).
    """
    for request, batch in requests.values():
        for _ in range(30):
            request.infer({0: batch})
    medians: dict[str, list[float]] = {name: [] for name in requests}
    for _ in range(rounds):
        for name, (request, batch) in requests.items():
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                request.infer({0: batch})
                times.append(time.perf_counter() - start)
            medians[name].append(float(np.median(times)) * 1e3)
    first = np.array(next(iter(medians.values())))
    return {
        name: {
            "median_ms": round(float(np.median(v)), 3),
            "min_round_ms": round(min(v), 3),
            "x_first": round(float(np.median(first / np.array(v))), 3),
        }
        for name, v in medians.items()
    }


def profile(core: Any, xml: Path, config: dict, batch: np.ndarray, runs: int = 50) -> dict:
    """Per-op-type time shares (PERF_COUNT) of ``xml`` and its ten slowest ops."""
    request = core.compile_model(str(xml), "CPU", {**config, "PERF_COUNT": True}).create_infer_request()
    for _ in range(20):
        request.infer({0: batch})
    per_op: collections.Counter = collections.Counter()
    for _ in range(runs):
        request.infer({0: batch})
        for info in request.profiling_info:
            key = (info.node_name, info.node_type, info.exec_type)
            per_op[key] += info.real_time.total_seconds() * 1e6 / runs
    total = sum(per_op.values())
    by_type: collections.Counter = collections.Counter()
    for (_, node_type, exec_type), us in per_op.items():
        by_type[f"{node_type} ({exec_type.rsplit('_', 1)[-1]})"] += us
    return {
        "total_us": round(total),
        "share_by_type": {k: round(v / total, 4) for k, v in by_type.most_common() if v > 0},
        "slowest_ops": [
            {"op": name, "type": kind, "kernel": kernel, "share": round(us / total, 4)}
            for (name, kind, kernel), us in per_op.most_common(10)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--artifact", required=True, help="an INT8 compile's output folder")
    parser.add_argument("--data", required=True)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import nncf
    import openvino as ov

    from edgecompress.backends.openvino import decode_scope_names, load_config
    from edgecompress.calibration_set import build_calibration_set
    from edgecompress.config import load_calibration_spec, load_target
    from edgecompress.data import load_split
    from edgecompress.measure.environment import isa_flags
    from edgecompress.runtime.preprocess import preprocess, read_image

    nncf.set_log_level(logging.WARNING)
    core = ov.Core()
    config = load_config(load_target("x86-cpu"), "int8")
    xml = Path(args.artifact) / "openvino" / "model.xml"
    batch, _ = preprocess([read_image(load_split(args.data, "val").images[0])], args.imgsz)
    result: dict[str, Any] = {"artifact": args.artifact, "isa": isa_flags(), "config": config}
    result["profile"] = profile(core, xml, config, batch)

    thread_configs = {
        "2 threads (target)": config,
        "1 thread": {**config, "INFERENCE_NUM_THREADS": 1},
        "2 threads, unpinned": {**config, "ENABLE_CPU_PINNING": False},
    }
    compiled = {name: core.compile_model(str(xml), "CPU", c) for name, c in thread_configs.items()}
    result["executed_precision"] = (
        compiled["2 threads (target)"].get_property("INFERENCE_PRECISION_HINT").to_string()
    )
    result["threads"] = interleaved_ms({k: (v.create_infer_request(), batch) for k, v in compiled.items()})

    spec = load_calibration_spec("default").model_copy(update={"count": 32})
    calibration = build_calibration_set(args.data, spec, args.imgsz).inputs
    stems = {"compiler's scope": [], "+ model.0 float": STEM[:1], "+ model.0, model.1 float": STEM}
    requests = {}
    for name, extra in stems.items():
        model = ov.convert_model(str(Path(args.artifact) / "model.onnx"))
        quantized = nncf.quantize(
            model,
            nncf.Dataset(calibration),
            preset=nncf.QuantizationPreset.MIXED,
            subset_size=len(calibration),
            fast_bias_correction=True,
            ignored_scope=nncf.IgnoredScope(names=decode_scope_names(model) + extra, validate=False),
        )
        requests[name] = (core.compile_model(quantized, "CPU", config).create_infer_request(), batch)
    result["stem"] = interleaved_ms(requests)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("isa", "executed_precision", "threads", "stem")}, indent=1))
    print(json.dumps(result["profile"]["share_by_type"], indent=1))


if __name__ == "__main__":
    main()
