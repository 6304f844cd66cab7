"""Closed-loop Meta-World benchmark of a trained reference VLA and its accelerated variants.

Each variant is compiled by edgecompress (`--family policy`, one recipe each) to OpenVINO; then every
variant drives the simulator for ``--episodes`` seeded episodes per task (layouts not in the demos),
re-planning every ``--execute`` steps from the action chunk. Per-chunk latency is timed for all
variants interleaved on one observation in the same run. Results: ``OUT.jsonl`` and ``OUT.md``; the
success rate is also written into each artifact's report.

    python bench/policy/metaworld_eval.py --policy /tmp/vla/vla-metaworld.pt \
        --demos bench/policy/data/metaworld-demos.npz --episodes 50 --out bench/results/metaworld-vla
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from metaworld_env import DEFAULT_TASKS, make_env  # noqa: E402

VARIANTS = {
    "baseline": HERE.parent / "recipes" / "vla-baseline.yaml",
    "layer_prune": HERE.parent / "recipes" / "vla-layer-prune.yaml",
    "token_prune": HERE.parent / "recipes" / "vla-token-prune.yaml",
    "feature_cache": HERE.parent / "recipes" / "vla-feature-cache.yaml",
    "all": "vla-efficient",
}


def compile_variant(policy: str, demos: str, recipe: object, out: Path, target: str) -> Path:
    """Compile one variant with edgecompress (replacing an earlier artifact)."""
    from edgecompress.compiler import plan, run

    ctx = plan(
        policy, demos, target, str(recipe), out=out, force=True, command=f"bench: {recipe}", family="policy"
    )
    return run(ctx)


def run_episodes(runtime: object, task: str, episodes: int, execute: int, seed: int) -> list[dict]:
    """Drive ``task`` with the policy; one record per episode (success, steps, chunk latencies)."""
    env = make_env(task, seed=seed)
    records = []
    try:
        for episode in range(episodes):
            obs, success, done, steps, latencies = env.reset(seed=seed + episode), False, False, 0, []
            while not done:
                started = time.perf_counter()
                chunk = runtime.predict(obs["image"], obs["instruction"], obs["state"], seed=episode)
                latencies.append(time.perf_counter() - started)
                for action in chunk[:execute]:
                    obs, success, done = env.step(action)
                    steps += 1
                    if done:
                        break
            records.append(
                {"task": task, "episode": episode, "success": success, "steps": steps, "chunk_s": latencies}
            )
    finally:
        env.close()
    return records


def interleaved_latency(runtimes: dict[str, object], demos: str) -> dict[str, dict]:
    """Per-chunk latency of every variant on the same observation, interleaved (edgecompress' timer)."""
    from edgecompress.measure.latency import time_calls
    from edgecompress.models.policy_data import load_demonstrations

    data = load_demonstrations(demos)
    image, state, instruction = data.images[0], data.states[0], data.instructions[int(data.task_ids[0])]
    calls = {
        name: (lambda r=runtime: r.predict(image, instruction, state)) for name, runtime in runtimes.items()
    }
    return {name: vars(lat) for name, lat in time_calls(calls, warmup=10, iterations=200).items()}


def record_in_artifact(artifact: Path, rate: float, episodes: int) -> None:
    """Write the closed-loop success rate into the artifact's result row, re-render, re-hash."""
    from edgecompress.artifact import write_checksums
    from edgecompress.report import Report
    from edgecompress.report.render import render

    report = Report.read(artifact / "report.json")
    row = report.row("result")
    assert row is not None and row.policy is not None
    row.policy.success_rate, row.policy.episodes = rate, episodes
    report.write(artifact / "report.json")
    render(report, artifact)
    write_checksums(artifact)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True)
    parser.add_argument("--demos", required=True)
    parser.add_argument("--tasks", nargs="+", default=list(DEFAULT_TASKS))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument(
        "--execute", type=int, default=4, help="actions executed per chunk before re-planning"
    )
    parser.add_argument("--seed", type=int, default=100_000, help="layout seeds: seed + episode")
    parser.add_argument("--target", default=str(HERE / "x86-cpu-1thread.yaml"))
    parser.add_argument("--artifacts", default="/tmp/vla/artifacts")
    parser.add_argument("--out", required=True, help="results path without suffix")
    args = parser.parse_args()
    from edgecompress import load
    from edgecompress.report import Report

    runtimes, rows = {}, []
    for name in args.variants:
        artifact = compile_variant(
            args.policy, args.demos, VARIANTS[name], Path(args.artifacts) / name, args.target
        )
        runtimes[name] = load(artifact)
        started, records = time.monotonic(), []
        for task in args.tasks:
            records += run_episodes(runtimes[name], task, args.episodes, args.execute, args.seed)
            done = [r for r in records if r["task"] == task]
            print(f"{name} {task}: {sum(r['success'] for r in done)}/{len(done)}", flush=True)
        rate = float(np.mean([r["success"] for r in records]))
        record_in_artifact(artifact, rate, len(records))
        result = Report.read(artifact / "report.json").row("result")
        assert result is not None and result.policy is not None
        rows.append(
            {
                "variant": name,
                "success": rate,
                "per_task": {
                    t: float(np.mean([r["success"] for r in records if r["task"] == t])) for t in args.tasks
                },
                "episodes": len(records),
                "loop_chunk_p50_ms": 1000 * float(np.median([s for r in records for s in r["chunk_s"]])),
                "gflops": result.gflops,
                "params": result.params,
                "action_mse": result.policy.action_mse,
                "eval_minutes": (time.monotonic() - started) / 60,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    latency = interleaved_latency(runtimes, args.demos)
    for row in rows:
        row["chunk_p50_ms"], row["chunk_p95_ms"] = (
            latency[row["variant"]]["p50_ms"],
            latency[row["variant"]]["p95_ms"],
        )
    write_results(Path(args.out), rows, args)


def write_results(out: Path, rows: list[dict], args: argparse.Namespace) -> None:
    """``out.jsonl`` (one row per variant) and ``out.md`` (table with ratios to the baseline)."""
    import openvino
    import torch

    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    base = next((r for r in rows if r["variant"] == "baseline"), rows[0])
    lines = [
        f"Command: `python {' '.join(sys.argv)}`",
        f"Machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"OpenVINO {openvino.__version__.split('-')[0]}; {args.episodes} episodes per task, "
        f"tasks {', '.join(args.tasks)}",
        "",
        "| variant | success | GFLOPs/chunk (× base) | params M | chunk p50 ms (speed-up) | action MSE |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['success']:.3f} | "
            f"{r['gflops']:.3f} ({r['gflops'] / base['gflops']:.2f}) | {r['params'] / 1e6:.2f} | "
            f"{r['chunk_p50_ms']:.2f} ({base['chunk_p50_ms'] / r['chunk_p50_ms']:.2f}×) | "
            f"{r['action_mse']:.4f} |"
        )
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
