"""Time two OpenVINO IRs of the same network shape against each other, in both orders (issue #12).

Two INT8 IRs with the same graph (the ladder's rows for session 14's weights and for the same weights
with re-estimated BatchNorm statistics) ran 10-15 % apart in both session-15 ladder runs. This times
them interleaved on one input, with the x86-cpu INT8 settings, in the orders A-B, B-A, A-B, to see
whether that gap belongs to the IRs or to the run. An IR lowered to take uint8 images
(``lower.input_format: uint8_nhwc``) gets the same input's pixels, so the same script pairs a float-
and a uint8-input lowering of one model.

    python bench/pcb_ir_twin_timing.py runs/pcb-ladder-s15/ec-1/openvino/model.xml \
        runs/pcb-ladder-s15/ec-2/openvino/model.xml --out bench/results/pcb-ir-twin-timing.json
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np


def op_counts(xml: Path) -> dict[str, int]:
    """The IR's layers by type (same counts: the same graph up to weights)."""
    return dict(sorted(Counter(layer.get("type") for layer in ET.parse(xml).getroot().iter("layer")).items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import openvino as ov

    sys.path.insert(0, str(Path(__file__).parent))
    from pcb_int8_probes import interleaved_ms

    from edgecompress.backends.openvino import load_config
    from edgecompress.backends.openvino_runtime import OpenVINORuntime
    from edgecompress.config import load_target

    config = load_config(load_target("x86-cpu"), "int8")
    core = ov.Core()
    batch = np.random.default_rng(0).random((1, 3, args.imgsz, args.imgsz), dtype=np.float32)
    xmls = {"A": args.first, "B": args.second}
    runs = []
    for order in (["A", "B"], ["B", "A"], ["A", "B"]):
        compiled = {name: core.compile_model(xmls[name], "CPU", config) for name in order}
        # each IR on the batch as it takes it: a uint8-input IR (lower.input_format) on the same pixels
        requests = {
            name: (model.create_infer_request(), OpenVINORuntime(model, "int8", "CPU").native_input(batch))
            for name, model in compiled.items()
        }
        timed = interleaved_ms(requests, rounds=10, runs=60)
        runs.append({"order": order, "timings": timed})
        print(json.dumps(runs[-1]), flush=True)
    ops = {"A": op_counts(args.first), "B": op_counts(args.second)}
    result = {
        "A": str(args.first),
        "B": str(args.second),
        "same_ops": ops["A"] == ops["B"],
        "ops": ops,
        "runs": runs,
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
