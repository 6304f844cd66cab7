"""The TensorRT-ready ONNX: FP32 as exported (the builder converts to FP16), or INT8 as explicit Q/DQ.

INT8 is NVIDIA ModelOpt's ONNX post-training quantization, calibrated on CPU with ONNX Runtime
(``calibration_eps=["cpu"]``), so it runs on the workstation; TensorRT 10 reads the Q/DQ scales
(implicit INT8 calibrators are deprecated there). The head's box decoding (DFL, anchors) stays float.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgecompress.backends.base import Lowered
from edgecompress.backends.head_scope import head_decode_names
from edgecompress.errors import InputError

QDQ_INSTALL = (
    'pip install "nvidia-modelopt==0.47.0" onnx-graphsurgeon polygraphy onnxconverter-common onnxscript '
    "huggingface_hub lief (not its [onnx] extra)"
)


def check_qdq_available() -> None:
    """Raise InputError when ModelOpt (the INT8 Q/DQ quantizer) is not installed."""
    if importlib.util.find_spec("modelopt") is None:
        raise InputError("INT8 for TensorRT needs NVIDIA ModelOpt, which is not installed", QDQ_INSTALL)


def count_qdq(onnx_path: Path) -> int:
    """Number of QuantizeLinear nodes in an ONNX model."""
    import onnx

    return sum(
        1
        for n in onnx.load(str(onnx_path), load_external_data=False).graph.node
        if n.op_type == "QuantizeLinear"
    )


def guard_concat_quantizers(model: Any) -> int:
    """Put ``Max(x, fp16 lowest)``, an identity on these activations, between each Concat and the
    QuantizeLinear it feeds; return how many. In place on an ``onnx.ModelProto``.

    Why: OpenVINO's CPU low-precision transformations (2026.4 here) compute a Conv
    wrongly when its input is a Concat of signed-INT8 Q/DQ activations (ModelOpt's/TensorRT's
    Concat -> Q/DQ -> Conv, which OpenVINO turns into per-branch quantizers and a u8 Concat): the
    branches reach the Conv as their real values cast to u8 instead of their INT8 codes, and the demo
    model's mAP50-95 fell from 0.90 to 0.24. With an op between Concat and Q the Concat stays float
    there and every Conv still runs INT8. TensorRT still finds Q/DQ in front of every Conv; the Max is
    a pointwise op, but the guard is only for OpenVINO: :func:`openvino_ready_onnx` applies it when
    OpenVINO loads a Q/DQ ONNX; the artifact's ``tensorrt/model.onnx`` stays ModelOpt's graph.
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    concat_outputs = {o for n in graph.node if n.op_type == "Concat" for o in n.output}
    lowest = "ec_concat_guard_lowest"
    nodes, guards = [], 0
    for node in graph.node:
        if node.op_type == "QuantizeLinear" and node.input[0] in concat_outputs:
            guarded = f"{node.input[0]}_ec_guard"
            nodes.append(
                helper.make_node("Max", [node.input[0], lowest], [guarded], name=f"{node.name}_ec_guard")
            )
            node.input[0] = guarded
            guards += 1
        nodes.append(node)
    if guards:
        graph.initializer.append(
            numpy_helper.from_array(np.array(np.finfo(np.float16).min, np.float32), lowest)
        )
        del graph.node[:]
        graph.node.extend(nodes)
    return guards


def openvino_ready_onnx(onnx_path: Path, folder: Path) -> Path:
    """``onnx_path``, or a guarded copy of it in ``folder`` if OpenVINO would misread its Concat Q/DQ."""
    import onnx

    model = onnx.load(str(onnx_path))
    if not guard_concat_quantizers(model):
        return onnx_path
    guarded = folder / onnx_path.name
    onnx.save(model, str(guarded))
    return guarded


def quantize_qdq(onnx_path: Path, output: Path, calibration: list[np.ndarray]) -> dict[str, Any]:
    """Write an explicit Q/DQ INT8 ONNX of ``onnx_path`` to ``output``; return notes for the report."""
    if not calibration:
        raise ValueError("INT8 Q/DQ quantization needs calibration images")
    check_qdq_available()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # ModelOpt imports huggingface_hub; never let it download
    import onnx

    excluded = head_decode_names([n.name for n in onnx.load(str(onnx_path)).graph.node])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ec-qdq-") as tmp, open(os.devnull, "w") as sink:
        source = Path(tmp) / "model.onnx"
        shutil.copyfile(onnx_path, source)  # ModelOpt writes its intermediate files beside the input
        # ModelOpt and ONNX Runtime's calibrator print progress bars and tables; the report says what ran
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            import modelopt
            from modelopt.onnx.quantization import quantize

            quantize(
                str(source),
                quantize_mode="int8",
                calibration_data=np.concatenate(calibration, axis=0),
                calibration_eps=["cpu"],
                nodes_to_exclude=[re.escape(n) for n in excluded],
                high_precision_dtype="fp32",  # TensorRT's FP16 flag still runs these layers in FP16
                output_path=str(Path(tmp) / "model.qdq.onnx"),
                log_level="ERROR",
            )
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(Path(tmp) / "model.qdq.onnx"), output)
    return {
        "quantizer": f"nvidia-modelopt {modelopt.__version__} (onnx int8, calibration on CPU)",
        "calibration_images": len(calibration),
        "float_decode_ops": len(excluded),
        "qdq_nodes": count_qdq(output),
        "quantize_s": round(time.perf_counter() - started, 2),
    }


def prepare_onnx(
    onnx_path: Path, out_dir: Path, precision: str, calibration: list[np.ndarray] | None = None
) -> Lowered:
    """Write ``out_dir/model.onnx`` for the engine builder: the FP32 export, or its Q/DQ INT8 version."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "model.onnx"
    if precision == "int8":
        details = quantize_qdq(onnx_path, target, calibration or [])
    else:
        shutil.copyfile(onnx_path, target)
        details = {}
        if precision == "fp16":
            details["note"] = "FP32 ONNX; the TensorRT engine builder converts it to FP16 (BuilderFlag.FP16)"
    return Lowered(target, [target], details)
