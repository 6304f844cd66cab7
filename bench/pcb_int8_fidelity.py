"""Can a label-free check choose NNCF's bias correction per model? Output error of fast vs full INT8.

For each ``--case NAME=FP32_ONNX=FAST_XML=FULL_XML`` (``FAST_XML`` may be ``-``: quantized here with
NNCF's defaults, the compiler's settings before session 12), the mean squared error of the decoded
output (1, 4 + nc, anchors) of both INT8 IRs against the FP32 model on every fifth of the first 300
calibration images (60), overall, boxes only and classes only:

    python bench/pcb_int8_fidelity.py --data runs/pcb-data/data.yaml \
        --case "unpruned=runs/pcb-ladder-s12/ec-0/model.onnx=-=runs/pcb-ladder-s12/ec-0/openvino/model.xml" \
        --case "r16=$R/model.onnx=$V/default/model.xml=$V/bias/model.xml" \
        --case "ft50=runs/pcb-ladder-s12/ec-3/model.onnx=-=runs/pcb-ladder-s12/ec-3/openvino/model.xml"

with ``V=runs/pcb-int8-variants R=bench/runs/pcb-prune-g75-ft50-restart16`` (the folders of the
session-12 ladder, the first restart's compile and ``bench/pcb_int8_variants.py``).
"""

from __future__ import annotations

import argparse
import logging

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--case", action="append", required=True, metavar="NAME=ONNX=FAST_XML=FULL_XML")
    args = parser.parse_args()

    import nncf
    import openvino as ov

    from edgecompress.backends.openvino import decode_scope_names
    from edgecompress.calibration_set import build_calibration_set
    from edgecompress.config import load_calibration_spec

    nncf.set_log_level(logging.WARNING)
    calibration = build_calibration_set(args.data, load_calibration_spec("default"), args.imgsz).inputs
    inputs = calibration[::5][:60]
    core = ov.Core()

    def outputs(model: object, f32: bool = False) -> np.ndarray:
        compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"} if f32 else {})
        return np.stack([compiled(x)[0] for x in inputs])

    for name, onnx, fast_xml, full_xml in (case.split("=", 3) for case in args.case):
        reference = outputs(ov.convert_model(onnx), f32=True)
        if fast_xml == "-":
            model = ov.convert_model(onnx)
            fast = nncf.quantize(
                model,
                nncf.Dataset(calibration),
                preset=nncf.QuantizationPreset.MIXED,
                subset_size=len(calibration),
                ignored_scope=nncf.IgnoredScope(names=decode_scope_names(model), validate=False),
            )
        else:
            fast = core.read_model(fast_xml)
        for label, model in (("fast", fast), ("full", core.read_model(full_xml))):
            error = outputs(model) - reference  # (images, 1, 4 + nc, anchors)
            print(
                f"{name} {label}: all {float((error**2).mean()):.4g} "
                f"boxes {float((error[:, :, :4] ** 2).mean()):.4g} "
                f"classes {float((error[:, :, 4:] ** 2).mean()):.4g}",
                flush=True,
            )


if __name__ == "__main__":
    main()
