"""Paired timing of one INT8 detector lowered two ways: float32 NCHW input and uint8 image input (issue #12).

``lower.input_format: uint8_nhwc`` moves the division by 255 and the layout change into the graph.
This times the two IRs interleaved on the same val image (the float IR on the float batch, the uint8
IR on the same pixels), with the x86-cpu INT8 settings, in the orders A-B, B-A, A-B;
``x_first`` is the speed-up over the first row, paired by round.

    python bench/quiet.py -- python bench/pcb_uint8_input_timing.py \
        runs/pcb-ladder-s16/ec-1/openvino/model.xml runs/headline-s16-u8/openvino/model.xml \
        --out bench/results/pcb-uint8-input-timing.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("float_xml", type=Path)
    parser.add_argument("uint8_xml", type=Path)
    parser.add_argument("--data", type=Path, default=Path("runs/pcb-data/data.yaml"))
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import openvino as ov

    sys.path.insert(0, str(Path(__file__).parent))
    from pcb_int8_probes import interleaved_ms

    from edgecompress.backends.openvino import load_config
    from edgecompress.backends.openvino_input import to_uint8_nhwc
    from edgecompress.config import load_target
    from edgecompress.data import load_split
    from edgecompress.measure.environment import cpu_model, isa_flags
    from edgecompress.runtime.preprocess import preprocess, read_image

    batch, _ = preprocess([read_image(load_split(args.data, "val").images[0])], args.imgsz)
    inputs = {"float": batch, "uint8": to_uint8_nhwc(batch)}
    xmls = {"float": args.float_xml, "uint8": args.uint8_xml}
    config = load_config(load_target("x86-cpu"), "int8")
    core = ov.Core()
    runs = []
    for order in (["float", "uint8"], ["uint8", "float"], ["float", "uint8"]):
        requests = {
            name: (core.compile_model(str(xmls[name]), "CPU", config).create_infer_request(), inputs[name])
            for name in order
        }
        runs.append({"order": order, "timings": interleaved_ms(requests, rounds=10, runs=60)})
        print(json.dumps(runs[-1]), flush=True)
    result = {
        "cpu": cpu_model(),
        "isa": isa_flags(),
        "irs": {name: str(xml) for name, xml in xmls.items()},
        "runs": runs,
        "command": " ".join(["python", *sys.argv]),
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
