"""The TensorRT-ready Q/DQ INT8 ONNX of a compiled artifact, scored on ONNX Runtime and OpenVINO.

    edgecompress compile --target orin-nx --precision int8 --out runs/demo-orin-int8
    python bench/qdq_runtimes.py runs/demo-orin-int8

Scores the artifact's FP32 ``model.onnx`` and its ModelOpt ``tensorrt/model.onnx`` on both CPU
runtimes with the project's evaluate() on the demo val split (or ``--data``), at the artifact's imgsz.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("--data", help="data yaml (default: the demo digits set)")
    args = parser.parse_args()

    from edgecompress.artifact import open_artifact
    from edgecompress.backends import get_backend
    from edgecompress.config import load_target
    from edgecompress.data import load_split
    from edgecompress.demo import demo_data_yaml
    from edgecompress.measure.accuracy import evaluate

    manifest = open_artifact(args.artifact)
    val = load_split(args.data or demo_data_yaml(), "val")
    runtimes = {"onnxruntime": load_target("x86-cpu-ort"), "openvino": load_target("x86-cpu")}
    for onnx in ("model.onnx", "tensorrt/model.onnx"):
        for name, profile in runtimes.items():
            runtime = get_backend(name).load(args.artifact / onnx, profile, "fp32")
            score = evaluate(runtime, val, manifest.imgsz, label=f"{onnx} {name}")
            row = {"onnx": onnx, "runtime": name, "map50": score.map50, "map50_95": score.map50_95}
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
