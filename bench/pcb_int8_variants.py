"""Post-training INT8 settings on one compiled DeepPCB model: which of NNCF's options keeps the most mAP.

Issue #12: INT8 costs the pruned g75 models 3–4 points of mAP50-95 (0.5 for the unpruned model). The
compiler's lowering quantizes the FP32 ONNX of an artifact with NNCF (mixed preset, 300 seeded train
images, box decoding kept float). This quantizes the same ONNX with the same calibration and
ignored scope under each variant and scores every IR on all val images (the ladder's letterbox + NMS
and Ultralytics' AP code):

    python bench/pcb_int8_variants.py --artifact bench/runs/pcb-prune-g75-ft50-restart16 \
        --data runs/pcb-data/data.yaml --out bench/results/pcb-int8-variants-r16.json

Variants, joined with ``+`` to combine them: ``default`` (NNCF's defaults, mixed preset: the
compiler's before session 12), ``bias`` (NNCF's full BiasCorrection instead of FastBiasCorrection:
the compiler's since), ``performance`` (symmetric activations), ``head-float`` (the detect head's
convolutions kept float), ``histogram`` / ``quantile`` / ``minmax`` (NNCF's activation range
estimators instead of its ``MEAN_MINMAX`` default), ``calibN`` (N seeded train images instead of the
compiler's calibration spec).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any


def head_conv_names(ov_model: Any) -> list[str]:
    """Friendly names of the detect head's convolutions (Ultralytics' last module, ``model.N``)."""
    convs = [op.get_friendly_name() for op in ov_model.get_ops() if op.get_type_name() == "Convolution"]
    last = max(int(name.split("/model.")[1].split("/")[0]) for name in convs if "/model." in name)
    return [name for name in convs if f"/model.{last}/" in name]


def activation_ranges(parts: set[str]) -> Any:
    """NNCF's activation range estimator named in ``parts`` (None: NNCF's ``MEAN_MINMAX`` default)."""
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    named = {
        "histogram": RangeEstimatorParametersSet.HISTOGRAM,
        "quantile": RangeEstimatorParametersSet.MEAN_QUANTILE,
        "minmax": RangeEstimatorParametersSet.MINMAX,
    }
    chosen = [named[part] for part in parts if part in named]
    return chosen[0] if chosen else None


def calibration_size(parts: set[str]) -> int | None:
    """N of a ``calibN`` part (None: the compiler's calibration spec)."""
    sizes = [int(part[len("calib") :]) for part in parts if part.startswith("calib")]
    return sizes[0] if sizes else None


def variant(name: str, ov_model: Any, calibration: list, ignored: list[str]) -> Any:
    """``ov_model`` quantized under variant ``name``."""
    import nncf
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters

    nncf.set_log_level(logging.WARNING)
    parts = set(name.split("+"))
    kwargs: dict[str, Any] = {
        "preset": nncf.QuantizationPreset.MIXED,
        "fast_bias_correction": "bias" not in parts,
    }
    if "performance" in parts:
        kwargs["preset"] = nncf.QuantizationPreset.PERFORMANCE
    if "head-float" in parts:
        ignored = ignored + head_conv_names(ov_model)
    advanced = AdvancedQuantizationParameters()
    if activation_ranges(parts) is not None:
        advanced.activations_range_estimator_params = activation_ranges(parts)
    kwargs["advanced_parameters"] = advanced
    return nncf.quantize(
        ov_model,
        nncf.Dataset(calibration),
        subset_size=len(calibration),
        ignored_scope=nncf.IgnoredScope(names=ignored, validate=False),
        **kwargs,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--artifact", required=True, help="a compile's output folder (its model.onnx is FP32)"
    )
    parser.add_argument("--data", required=True)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--variants", default="default,bias,head-float")
    parser.add_argument("--work", default="runs/pcb-int8-variants")
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--score-train",
        type=int,
        default=0,
        help="also score each IR on this many seeded train images (seed 1; the calibration's is 0): "
        "would a choice made on labelled train images pick what the val split prefers?",
    )
    args = parser.parse_args()

    import openvino as ov
    from pcb_ladder import prebuilt_ir

    from edgecompress.backends.openvino import decode_scope_names
    from edgecompress.calibration_set import build_calibration_set, select_images
    from edgecompress.config import CalibrationSpec, load_calibration_spec
    from edgecompress.data import load_split
    from edgecompress.measure.accuracy import evaluate

    onnx = Path(args.artifact) / "model.onnx"
    default_calibration = build_calibration_set(
        args.data, load_calibration_spec("default"), args.imgsz
    ).inputs
    split = load_split(args.data, "val")
    train = None
    if args.score_train:
        train_split = load_split(args.data, "train")
        spec = CalibrationSpec(name="train-score", split="train", count=args.score_train, seed=1)
        train = dataclasses.replace(train_split, images=select_images(train_split.images, spec))
    rows = []
    for name in args.variants.split(","):
        size = calibration_size(set(name.split("+")))
        calibration = default_calibration
        if size is not None:
            spec = load_calibration_spec("default").model_copy(update={"count": size})
            calibration = build_calibration_set(args.data, spec, args.imgsz).inputs
        ov_model = ov.convert_model(str(onnx))
        start = time.perf_counter()
        quantized = variant(name, ov_model, calibration, decode_scope_names(ov_model))
        seconds = time.perf_counter() - start
        xml = Path(args.work) / name / "model.xml"
        xml.parent.mkdir(parents=True, exist_ok=True)
        ov.save_model(quantized, str(xml), compress_to_fp16=False)
        runtime = prebuilt_ir(xml, "int8")
        acc = evaluate(runtime, split, args.imgsz, label=name)
        rows.append(
            {
                "variant": name,
                "quantize_s": round(seconds, 1),
                "fake_quantize_ops": sum(op.get_type_name() == "FakeQuantize" for op in quantized.get_ops()),
                "map50": round(acc.map50, 4),
                "map50_95": round(acc.map50_95, 4),
                "val_images": acc.images,
                "executed_precision": runtime.executed_precision,
            }
        )
        if train is not None:
            train_acc = evaluate(runtime, train, args.imgsz, label=f"{name} train")
            rows[-1]["train_images"] = train_acc.images
            rows[-1]["train_map50_95"] = round(train_acc.map50_95, 4)
        print(json.dumps(rows[-1]), flush=True)
        Path(args.out).write_text(json.dumps({"artifact": args.artifact, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
