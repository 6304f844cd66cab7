"""Where a lowered SmolVLA chunk's time goes: each graph (prefix, step, step_cached) timed alone and the
whole chunk, per artifact, on one held-out Meta-World observation (interleaved, edgecompress' timer).

    python bench/quiet.py -- python bench/policy/smolvla_graph_timing.py \
        --artifacts runs/smolvla-mw/artifacts --variants baseline flops30-ft lean-ft \
        --target bench/policy/x86-cpu-quick.yaml --out bench/results/smolvla-graph-timing/process1.json

A small policy's chunk is a prefix call and one step call per denoising step; at 0.08-0.26 GFLOPs a
chunk, the figures say how much of it is per-call and per-op overhead rather than arithmetic: the
graph's op count after OpenVINO's compile is recorded beside each time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from smolvla_metaworld import Codec  # noqa: E402
from smolvla_metaworld_eval import DEMOS, camera_shape, held_out_inputs  # noqa: E402

from edgecompress.models.policy_data import load_demonstrations  # noqa: E402


def graph_feeds(runtime: Any, observation: Any, noise: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """The inputs each graph of ``runtime`` gets in the chunk's first step (recorded by wrapping them)."""
    seen: dict[str, dict[str, np.ndarray]] = {}
    originals = dict(runtime.graphs)

    def recorder(name: str) -> Any:
        def run(inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
            seen.setdefault(name, {k: np.array(v) for k, v in inputs.items()})
            return originals[name](inputs)

        return run

    runtime.graphs = {name: recorder(name) for name in originals}
    try:
        runtime(observation, noise)
    finally:
        runtime.graphs = originals
    return seen


def executed_ops(xml: Path, profile: Any) -> int:
    """How many ops OpenVINO's CPU plugin runs for the IR at ``xml`` (its runtime model, after fusion)."""
    import openvino as ov

    from edgecompress.backends.openvino import load_config

    compiled = ov.Core().compile_model(str(xml), profile.device, load_config(profile, "fp32"))
    return len(compiled.get_runtime_model().get_ordered_ops())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("runs/smolvla-mw/artifacts"))
    parser.add_argument("--variants", nargs="+", default=["baseline", "flops30-ft"])
    parser.add_argument("--policy", type=Path, default=HERE / "data" / "smolvla-metaworld")
    parser.add_argument("--target", default="bench/policy/x86-cpu-quick.yaml")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    from edgecompress.config import load_target
    from edgecompress.measure.latency import time_calls
    from edgecompress.models.smolvla import load_smolvla
    from edgecompress.runtime.smolvla import load_smolvla_runtime

    profile = load_target(args.target)
    codec, meta = Codec.load(args.policy), load_smolvla(args.policy).meta()
    _, val = load_demonstrations(DEMOS).split()
    shape = (1, int(meta["chunk_size"]), int(meta["max_action_dim"]))
    observation, noise = held_out_inputs(codec, val.sample(1), shape, camera_shape(meta))[0]
    calls, ops = {}, {}
    for variant in args.variants:
        folder = args.artifacts / variant / profile.backend
        runtime = load_smolvla_runtime(folder, profile)
        calls[f"{variant}: chunk"] = lambda r=runtime: r(observation, noise)
        for name, feeds in graph_feeds(runtime, observation, noise).items():
            calls[f"{variant}: {name}"] = lambda g=runtime.graphs[name], f=feeds: g(f)
            ops[f"{variant}: {name}"] = executed_ops(folder / f"{name}.xml", profile)
    timed = time_calls(calls, warmup=20, iterations=args.iterations)
    rows = {name: {"p50_ms": round(lat.p50_ms, 3), "ops": ops.get(name)} for name, lat in timed.items()}
    result = {"target": args.target, "threads": profile.threads, "command": sys.argv, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for name, row in rows.items():
        print(f"{name:32s} {row['p50_ms']:8.3f} ms  ops {row['ops']}")


if __name__ == "__main__":
    main()
