"""An OpenVINO model that takes the letterboxed camera image as it is: uint8, (N, H, W, 3).

Ultralytics' export takes float32 NCHW in [0, 1], so every caller divides by 255 and transposes in
Python before each call, and OpenVINO's INT8 graph then quantizes that float input and reorders it
to its own channels-last layout. With OpenVINO's PrePostProcessor the conversion to float, the
scaling and the layout change become the first ops of the graph, beside the input's quantization,
and the input is a quarter of the bytes: the same outputs for the same image (uint8 pixels / 255
are what the float input held), 1.04-1.05x faster on the DeepPCB headline timed alone (BENCHMARKS.md).
Detectors lowered by OpenVINO take this input by default (``lower.input_format: auto``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

UINT8_NHWC = "uint8_nhwc"
FLOAT_NCHW = "float_nchw"  # Ultralytics' input


def use_uint8_image_input(xml: Path) -> None:
    """Rewrite the IR at ``xml`` (and its weights) to take uint8 (N, H, W, 3) images in 0…255."""
    import openvino as ov
    from openvino.preprocess import PrePostProcessor

    core = ov.Core()
    model = core.read_model(str(xml))
    steps = PrePostProcessor(model)
    steps.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC"))
    steps.input().model().set_layout(ov.Layout("NCHW"))
    steps.input().preprocess().convert_element_type(ov.Type.f32).scale(255.0)
    rewritten = steps.build()
    tmp = xml.with_name(xml.stem + ".uint8.xml")
    ov.save_model(rewritten, str(tmp), compress_to_fp16=False)
    del model, rewritten
    tmp.replace(xml)
    tmp.with_suffix(".bin").replace(xml.with_suffix(".bin"))


def to_uint8_nhwc(batch: np.ndarray) -> np.ndarray:
    """A float NCHW batch in [0, 1] as the uint8 NHWC images it came from (rounded, clipped)."""
    pixels = np.clip(np.rint(batch * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(pixels.transpose(0, 2, 3, 1))
