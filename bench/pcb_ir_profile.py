"""Where an OpenVINO IR's time goes, by op type and by node, with OpenVINO's own counters (issue #12).

Compiles each IR with the x86-cpu INT8 settings plus ``PERF_COUNT``, runs 30 warm-up calls, then
interleaves the IRs for 6 rounds of 50 calls and sums every node's ``real_time`` per call. Reported
per IR (medians over rounds, ms per call): the total over nodes, each (node type, kernel) pair,
the detection head's float ops (the decoding after its conv branches: DFL, anchors, concat,
sigmoid), the input's quantize/reorder, and the 15 slowest nodes.

    python bench/quiet.py -- python bench/pcb_ir_profile.py runs/pcb-ladder-s15/ec-1/openvino/model.xml \
        runs/pcb-ladder-s16/ec-1/openvino/model.xml --out bench/results/pcb-ir-profile-s16.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np


def is_head_decode(node: str, kernel: str) -> bool:
    """A float op of the head's decoding: under model.22 (YOLOv8's Detect) and not an INT8 kernel.

    The conv branches run INT8; what runs in float there is the decoding and the reorders feeding it.
    """
    return "/model.22/" in node and "I8" not in kernel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("xml", nargs="+", type=Path)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import openvino as ov

    from edgecompress.backends.openvino import load_config
    from edgecompress.config import load_target
    from edgecompress.measure.environment import cpu_model, isa_flags

    config = {**load_config(load_target("x86-cpu"), "int8"), "PERF_COUNT": True}
    core = ov.Core()
    batch = np.random.default_rng(0).random((1, 3, args.imgsz, args.imgsz), dtype=np.float32)
    requests = {
        str(xml): core.compile_model(str(xml), "CPU", config).create_infer_request() for xml in args.xml
    }
    for request in requests.values():
        for _ in range(30):
            request.infer({0: batch})
    rounds: dict[str, list[dict]] = {name: [] for name in requests}
    for _ in range(6):
        for name, request in requests.items():
            by_kind: dict[str, float] = defaultdict(float)
            by_node: dict[str, float] = defaultdict(float)
            parts = {"total": 0.0, "head_decode_float": 0.0, "input": 0.0}
            for _ in range(50):
                request.infer({0: batch})
                for info in request.profiling_info:
                    ms = info.real_time.total_seconds() * 1e3 / 50
                    by_kind[f"{info.node_type} {info.exec_type}"] += ms
                    by_node[f"{info.node_name} [{info.exec_type}]"] += ms
                    parts["total"] += ms
                    parts["head_decode_float"] += (
                        ms if is_head_decode(info.node_name, info.exec_type) else 0.0
                    )
                    parts["input"] += ms if info.node_name.startswith("images") else 0.0
            rounds[name].append({"parts": parts, "by_kind": by_kind, "by_node": by_node})
    result = {"cpu": cpu_model(), "isa": isa_flags(), "command": " ".join(["python", *sys.argv]), "irs": {}}
    for name, runs in rounds.items():

        def median(key: str, runs: list[dict] = runs) -> dict[str, float]:
            keys = runs[0][key]
            return {k: round(float(np.median([r[key].get(k, 0.0) for r in runs])), 4) for k in keys}

        nodes = median("by_node")
        result["irs"][name] = {
            **median("parts"),
            "by_kind": dict(sorted(median("by_kind").items(), key=lambda kv: -kv[1])),
            "slowest_nodes": dict(sorted(nodes.items(), key=lambda kv: -kv[1])[:15]),
        }
        print(name, {k: v for k, v in result["irs"][name].items() if not isinstance(v, dict)}, flush=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
