"""Closed-loop Meta-World success of the small trained SmolVLA and its compiled variants, paired.

Three steps, each its own sub-command so they can run apart (and episodes can be sharded by task):

* ``compile``: ``edgecompress compile POLICY --family policy --target TARGET --recipe R`` per variant
  (``name=recipe``; the ``baseline`` recipe has no stage: the policy lowered the same way);
* ``run``: every variant drives the simulator for ``--episodes`` episodes per task. Episode ``e``
  of every variant has the same layout (``reset(seed=seed + e)``) and the same flow-matching noise
  for its ``k``-th chunk (``default_rng([seed + e, k])``), so variants are paired. The policy re-plans
  every ``--execute`` actions. One JSON line per episode goes to ``OUT/<variant>/<task>.jsonl`` as
  soon as it ends (success, steps, the wall time of every chunk's ``runtime(observation, noise)``).
  ``--variants pytorch`` runs the policy folder itself in PyTorch (LeRobot's ``predict_action_chunk``).
  The simulator renders the policy's camera shape (``H x W`` from the policy's config: 64x64 for the
  small policy, e.g. 480x640 for the full-size one); ``--max-steps`` caps the episodes and
  ``--warmup-calls`` runs each runtime that often on the first observation before a task's episodes;
* ``summary``: success per task and overall with binomial standard errors, the paired difference
  to the baseline per episode (mean and its standard error), in-loop latency per chunk (median of
  every chunk timed in the episodes), warm latency (every variant interleaved on one held-out
  observation, edgecompress' timer, ``--warm-warmup`` + ``--warm-iterations`` calls), GFLOPs per chunk
  from each artifact's report (``torch.utils.flop_counter`` on the PyTorch graphs as lowered), and
  held-out action MSE against the expert's actions (``--frames``; 0: none, the warm figure still uses
  one held-out frame); written to ``OUT/summary.json`` and ``OUT/summary.md``. Held-out demo frames are
  resized (bilinear) to the policy's camera shape when it differs from the demos' 64x64.

    python bench/policy/smolvla_metaworld_eval.py compile --policy runs/smolvla-mw/policy \
        --variant baseline=bench/recipes/vla-baseline.yaml \
        --variant flops30=bench/recipes/smolvla-mw-flops30.yaml
    python bench/policy/smolvla_metaworld_eval.py run --variants baseline small --tasks push-v3 \
        --episodes 50 --out bench/results/smolvla-mw
    python bench/policy/smolvla_metaworld_eval.py summary --out bench/results/smolvla-mw
    python bench/policy/smolvla_metaworld_eval.py heldout --variants baseline flops30 \
        --target bench/policy/x86-cpu-1thread.yaml        # held-out action MSE only, no episodes
    python bench/policy/smolvla_metaworld_eval.py precision --variants baseline flops30 \
        --target x86-cpu --out OUT                         # what OpenVINO ran: OUT/precision.json
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from metaworld_env import DEFAULT_MAX_STEPS, DEFAULT_TASKS, make_env  # noqa: E402
from smolvla_metaworld import Codec, observation  # noqa: E402

from edgecompress.models.policy_data import load_demonstrations  # noqa: E402

ARTIFACTS = Path("runs/smolvla-mw/artifacts")
DEMOS = HERE / "data" / "metaworld-demos.npz"


def compile_variants(
    policy: Path,
    variants: list[str],
    target: str,
    artifacts: Path,
    data: str | None = None,
    overrides: list[str] | None = None,
) -> None:
    """``edgecompress compile`` of each ``name=recipe`` into ``artifacts/name`` (the CLI, as users run it),
    with ``--data`` when given (calibration on the demos, and what a recovery stage trains on) and each
    of ``overrides`` as ``--set`` (e.g. ``measure.baseline=false``)."""
    for item in variants:
        name, _, recipe = item.partition("=")
        command = [
            "edgecompress",
            "compile",
            str(policy),
            "--family",
            "policy",
            "--target",
            target,
            "--recipe",
            recipe,
            "--out",
            str(artifacts / name),
            "--force",
            *(["--data", data] if data else []),
            *[arg for item in overrides or [] for arg in ("--set", item)],
        ]
        print("$ " + " ".join(command), flush=True)
        started = time.monotonic()
        subprocess.run(command, check=True)
        (artifacts / f"{name}.command.json").write_text(  # beside: the artifact's files are hashed
            json.dumps({"command": command, "minutes": (time.monotonic() - started) / 60}) + "\n"
        )


def load_runtime(name: str, policy: Path, artifacts: Path) -> Any:
    """``runtime(observation, noise) -> normalized actions``: an artifact's, or PyTorch for ``pytorch``."""
    if name == "pytorch":
        import torch

        from edgecompress.models.smolvla import load_smolvla

        torch.set_num_threads(2)
        return load_smolvla(policy).torch_predict()
    import edgecompress

    return edgecompress.load(artifacts / name)


def camera_shape(meta: dict) -> tuple[int, int]:
    """Height and width of the policy's (one) camera."""
    _, height, width = meta["camera_shapes"][0]
    return int(height), int(width)


def fit_image(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``image`` (H, W, 3) uint8 resized (bilinear) to ``shape`` when it differs."""
    if image.shape[:2] == shape:
        return image
    import cv2

    return cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def runtime_meta(runtimes: dict[str, Any], policy: Path) -> dict:
    """The policy's shapes: from a lowered runtime's ``smolvla.json``, or the policy folder (PyTorch)."""
    for runtime in runtimes.values():
        if isinstance(getattr(runtime, "meta", None), dict):
            return runtime.meta
    from edgecompress.models.smolvla import load_smolvla

    return load_smolvla(policy).meta()


def chunk_noise(seed: int, episode: int, chunk: int, shape: tuple[int, ...]) -> np.ndarray:
    """The flow-matching noise of one chunk: the same for every variant (paired)."""
    return np.random.default_rng([seed + episode, chunk]).standard_normal(shape).astype(np.float32)


def run_episode(runtime: Any, env: Any, codec: Codec, shape: tuple, episode: int, args: Any) -> dict:
    """One seeded episode driven by ``runtime``: success, steps and the wall time of every chunk."""
    obs, success, done, steps, latencies = env.reset(seed=args.seed + episode), False, False, 0, []
    image_change, last = [], None  # mean |pixel change| since the previous chunk's frame
    while not done:
        observed = observation(codec, obs["image"], obs["instruction"], obs["state"])
        noise = chunk_noise(args.seed, episode, len(latencies), shape)
        started = time.perf_counter()
        actions = runtime(observed, noise)
        latencies.append(time.perf_counter() - started)
        if last is not None:
            image_change.append(float(np.abs(obs["image"].astype(np.int16) - last).mean()))
        last = obs["image"].astype(np.int16)
        for action in codec.unaction(actions[0, : args.execute]):
            obs, success, done = env.step(action)
            steps += 1
            if done:
                break
    return {
        "seed": args.seed + episode,
        "success": success,
        "steps": steps,
        "chunk_s": latencies,
        "image_change": image_change,
    }


def run_task(runtimes: dict[str, Any], codec: Codec, meta: dict, task: str, args: Any) -> None:
    """Episodes ``args.first .. args.episodes - 1`` of ``task``, each by every variant in turn (so the
    variants share the machine's load as well as the seeds); one JSON line per episode and variant,
    appended to ``args.out/<variant>/<task>.jsonl``; episodes already there are skipped (resume)."""
    shape = (1, int(meta["chunk_size"]), int(meta["max_action_dim"]))
    paths = {name: Path(args.out) / name / f"{task}.jsonl" for name in runtimes}
    done_before = {
        name: {json.loads(line)["episode"] for line in path.read_text().splitlines()}
        if path.exists()
        else set()
        for name, path in paths.items()
    }
    height, width = camera_shape(meta)
    env = make_env(
        task,
        seed=args.seed,
        image_size=height,
        image_width=width,
        max_steps=args.max_steps,
        supersample=args.supersample,
    )
    try:
        if args.warmup_calls:  # untimed calls on the first episode's first observation
            obs = env.reset(seed=args.seed + args.first)
            observed = observation(codec, obs["image"], obs["instruction"], obs["state"])
            for _ in range(args.warmup_calls):
                for runtime in runtimes.values():
                    runtime(observed, chunk_noise(args.seed, args.first, 0, shape))
        for episode in range(args.first, args.episodes):
            for name, runtime in runtimes.items():
                if episode in done_before[name]:
                    continue
                record = {
                    "task": task,
                    "episode": episode,
                    **run_episode(runtime, env, codec, shape, episode, args),
                }
                paths[name].parent.mkdir(parents=True, exist_ok=True)
                with paths[name].open("a") as file:
                    file.write(json.dumps(record) + "\n")
    finally:
        env.close()


def run(args: argparse.Namespace) -> None:
    """Drive every task with every variant; per-episode JSON lines under ``args.out``."""
    policy = Path(args.policy)
    codec = Codec.load(policy)
    runtimes = {name: load_runtime(name, policy, Path(args.artifacts)) for name in args.variants}
    meta = runtime_meta(runtimes, policy)
    for task in args.tasks:
        started = time.monotonic()
        run_task(runtimes, codec, meta, task, args)
        for name in runtimes:
            rows = (Path(args.out) / name / f"{task}.jsonl").read_text().splitlines()
            wins = sum(json.loads(line)["success"] for line in rows)
            print(f"{name} {task}: {wins}/{len(rows)}", flush=True)
        print(f"{task}: {(time.monotonic() - started) / 60:.1f} min", flush=True)


def read_episodes(out: Path, variant: str) -> dict[tuple[str, int], dict]:
    """Every episode record of ``variant``, by (task, episode)."""
    records = {}
    for path in sorted((out / variant).glob("*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            records[(row["task"], row["episode"])] = row
    return records


def loop_latency(seconds: list[float]) -> dict[str, float | int]:
    """Count, median, p95, min and max (ms) of the chunk calls timed in the episodes."""
    ms = 1000 * np.asarray(seconds, dtype=np.float64)
    return {
        "loop_chunks": len(ms),
        "loop_chunk_p50_ms": float(np.median(ms)),
        "loop_chunk_p95_ms": float(np.percentile(ms, 95)),
        "loop_chunk_min_ms": float(ms.min()),
        "loop_chunk_max_ms": float(ms.max()),
    }


def image_change(records: list[dict]) -> float | None:
    """Mean |pixel change| (0-255) of a chunk's camera frame since the previous chunk's, over every
    chunk after an episode's first (None for records written before it was recorded)."""
    changes = [c for r in records for c in r.get("image_change", [])]
    return float(np.mean(changes)) if changes else None


def binomial_se(successes: list[bool]) -> float:
    """Standard error of a success rate: sqrt(p (1 - p) / n)."""
    p = float(np.mean(successes))
    return math.sqrt(p * (1 - p) / len(successes))


def paired(base: dict, other: dict, keys: list) -> dict[str, float]:
    """Mean and standard error of the per-episode difference ``other - base`` on shared ``keys``."""
    diff = np.array([float(other[k]["success"]) - float(base[k]["success"]) for k in keys])
    se = float(diff.std(ddof=1) / math.sqrt(len(diff))) if len(diff) > 1 else float("nan")
    return {
        "diff": float(diff.mean()),
        "diff_se": se,
        "discordant": int(np.count_nonzero(diff)),
        "n": len(diff),
    }


def task_balanced(per_task: dict[str, dict]) -> dict[str, float]:
    """Success and paired difference with every task weighted equally (the issue's "5 tasks × 50"),
    however many episodes each task has: the mean of the per-task rates and differences; the SE from
    the per-task SEs (a task without discordant episodes adds none, which understates it)."""
    tasks = list(per_task.values())
    se = math.sqrt(sum(t["diff_se"] ** 2 for t in tasks if t["n"] > 1)) / len(tasks)
    return {
        "balanced_success": float(np.mean([t["success"] for t in tasks])),
        "balanced_diff": float(np.mean([t["diff"] for t in tasks])),
        "balanced_diff_se": se,
    }


def held_out(
    runtimes: dict[str, Any], codec: Codec, meta: dict, frames: int, warmup: int = 10, iterations: int = 100
) -> tuple[dict, dict]:
    """Warm latency per chunk (interleaved, one held-out observation); held-out action MSE vs the expert
    on ``frames`` frames (none with 0: the MSE is then None and the warm observation is one frame)."""
    from edgecompress.measure.latency import time_calls

    _, val = load_demonstrations(DEMOS).split()
    sample = val.sample(max(frames, 1))
    shape = (1, int(meta["chunk_size"]), int(meta["max_action_dim"]))
    inputs = held_out_inputs(codec, sample, shape, camera_shape(meta))
    truth = sample.chunks(int(meta["chunk_size"]))
    mse: dict[str, float | None] = {}
    for name, runtime in runtimes.items():
        if frames:
            predicted = np.stack([codec.unaction(runtime(o, n)[0]) for o, n in inputs])
            mse[name] = float(np.mean((predicted - truth) ** 2))
        else:
            mse[name] = None
    first = inputs[0]
    calls = {name: (lambda r=runtime: r(*first)) for name, runtime in runtimes.items()}
    timed = time_calls(calls, warmup=warmup, iterations=iterations)
    latency = {name: vars(lat) for name, lat in timed.items()}
    return latency, mse


def heldout(args: argparse.Namespace) -> None:
    """Held-out action MSE vs the expert of each variant's artifact, without episodes: the graphs run on
    ``--target``'s threads (e.g. ``bench/policy/x86-cpu-1thread.yaml``), no latency is timed."""
    from edgecompress.config import load_target
    from edgecompress.models.smolvla import load_smolvla
    from edgecompress.runtime.smolvla import load_smolvla_runtime

    policy, artifacts, profile = Path(args.policy), Path(args.artifacts), load_target(args.target)
    codec, meta = Codec.load(policy), load_smolvla(policy).meta()
    _, val = load_demonstrations(DEMOS).split()
    sample = val.sample(args.frames)
    truth = sample.chunks(int(meta["chunk_size"]))
    shape = (1, int(meta["chunk_size"]), int(meta["max_action_dim"]))
    rows = {}
    for name in args.variants:
        runtime = load_smolvla_runtime(artifacts / name / profile.backend, profile)
        predicted = np.stack(
            [
                codec.unaction(runtime(o, n)[0])
                for o, n in held_out_inputs(codec, sample, shape, camera_shape(meta))
            ]
        )
        rows[name] = {"heldout_action_mse": float(np.mean((predicted - truth) ** 2)), "frames": len(sample)}
        print(json.dumps({"variant": name, **rows[name]}), flush=True)
    (artifacts / "heldout.json").write_text(json.dumps(rows, indent=1) + "\n")


def precision(args: argparse.Namespace) -> None:
    """What OpenVINO runs each variant's graphs in: every graph compiled as the runtime compiles it
    (``load_config`` of ``--target``), its execution graph's matmul and convolution nodes counted by
    (layer type, runtime precision, primitive), and the compiled model's precision hint and threads;
    printed and written to ``OUT/precision.json``."""
    import collections

    import openvino as ov

    from edgecompress.backends.openvino import load_config
    from edgecompress.config import load_target

    profile = load_target(args.target)
    rows: dict[str, dict] = {"openvino": ov.__version__}
    for name in args.variants:
        for xml in sorted((Path(args.artifacts) / name / "openvino").glob("*.xml")):
            compiled = ov.Core().compile_model(str(xml), profile.device, load_config(profile, "fp32"))
            kinds: collections.Counter = collections.Counter()
            for op in compiled.get_runtime_model().get_ordered_ops():
                info = op.get_rt_info()
                kind = info["layerType"].astype(str) if "layerType" in info else ""
                if kind in ("FullyConnected", "MatMul", "Convolution"):
                    kinds[
                        f"{kind} {info['runtimePrecision'].astype(str)} {info['primitiveType'].astype(str)}"
                    ] += 1
            rows[f"{name}/{xml.stem}"] = {
                "inference_precision_hint": compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name(),
                "inference_num_threads": int(compiled.get_property("INFERENCE_NUM_THREADS")),
                "nodes": dict(kinds),
            }
            print(name, xml.stem, json.dumps(rows[f"{name}/{xml.stem}"]), flush=True)
            del compiled
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "precision.json").write_text(json.dumps(rows, indent=1) + "\n")


def held_out_inputs(
    codec: Codec, sample: Any, shape: tuple[int, ...], image: tuple[int, int] | None = None
) -> list[tuple[Any, np.ndarray]]:
    """(observation, noise) of every held-out frame of ``sample``: noise ``default_rng([0 + i, 0])``;
    images resized to ``image`` (H, W) when given and different."""
    return [
        (
            observation(
                codec,
                fit_image(sample.images[i], image) if image else sample.images[i],
                sample.instructions[int(sample.task_ids[i])],
                sample.states[i],
            ),
            chunk_noise(0, i, 0, shape),
        )
        for i in range(len(sample))
    ]


def summary(args: argparse.Namespace) -> None:
    """Success, paired differences, latency and FLOPs of every variant found under ``args.out``."""
    out, policy, artifacts = Path(args.out), Path(args.policy), Path(args.artifacts)
    variants = [v for v in args.variants if (out / v).is_dir()]
    episodes = {v: read_episodes(out, v) for v in variants}
    base = episodes[variants[0]]
    from edgecompress.report import Report

    codec = Codec.load(policy)
    runtimes = {v: load_runtime(v, policy, artifacts) for v in variants}
    meta = runtime_meta(runtimes, policy)
    latency, mse = held_out(runtimes, codec, meta, args.frames, args.warm_warmup, args.warm_iterations)
    rows = []
    for name in variants:
        records = episodes[name]
        keys = sorted(set(records) & set(base))
        tasks = sorted({t for t, _ in keys}, key=list(DEFAULT_TASKS).index)
        wins = [bool(records[k]["success"]) for k in keys]
        row: dict[str, Any] = {
            "variant": name,
            "episodes": len(keys),
            "success": float(np.mean(wins)),
            "success_se": binomial_se(wins),
            "per_task": {
                t: {
                    "success": float(np.mean([records[k]["success"] for k in keys if k[0] == t])),
                    "episodes": sum(1 for k in keys if k[0] == t),
                    **paired(base, records, [k for k in keys if k[0] == t]),
                }
                for t in tasks
            },
            **paired(base, records, keys),
            **loop_latency([s for k in keys for s in records[k]["chunk_s"]]),
            "loop_image_change": image_change([records[k] for k in keys]),
            "chunk_p50_ms": latency[name]["p50_ms"],
            "chunk_p95_ms": latency[name]["p95_ms"],
            "heldout_action_mse": mse[name],
        }
        row.update(task_balanced(row["per_task"]))
        if name != "pytorch":
            result = Report.read(artifacts / name / "report.json").row("result")
            assert result is not None
            row["gflops"], row["params"] = result.gflops, result.params
        rows.append(row)
    write_summary(out, rows, args)


def write_summary(out: Path, rows: list[dict], args: argparse.Namespace) -> None:
    """``summary.json`` and ``summary.md`` (ratios to the first variant)."""
    import openvino
    import torch

    (out / "summary.json").write_text(json.dumps(rows, indent=1) + "\n")
    base = rows[0]
    lines = [
        f"Command: `python {' '.join(sys.argv)}`",
        f"Machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"OpenVINO {openvino.__version__.split('-')[0]}",
        "",
        "| variant | episodes | success ± SE | paired diff ± SE (discordant) | GFLOPs/chunk (of base) "
        "| loop chunk p50 ms (×) | warm chunk p50 ms (×) | held-out action MSE |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        flops = (
            f"{r['gflops']:.4f} ({r['gflops'] / base['gflops']:.1%})"
            if "gflops" in r and "gflops" in base
            else "–"
        )
        lines.append(
            f"| {r['variant']} | {r['episodes']} | {r['success']:.3f} ± {r['success_se']:.3f} | "
            f"{r['diff']:+.3f} ± {r['diff_se']:.3f} ({r['discordant']}) | {flops} | "
            f"{r['loop_chunk_p50_ms']:.2f} ({base['loop_chunk_p50_ms'] / r['loop_chunk_p50_ms']:.2f}×) | "
            f"{r['chunk_p50_ms']:.2f} ({base['chunk_p50_ms'] / r['chunk_p50_ms']:.2f}×) | "
            + ("–" if r["heldout_action_mse"] is None else f"{r['heldout_action_mse']:.4f}")
            + " |"
        )
    lines.append("")
    lines += [
        f"{r['variant']}: {r['loop_chunks']} chunks timed in the loop, p50 {r['loop_chunk_p50_ms']:.1f} ms, "
        f"p95 {r['loop_chunk_p95_ms']:.1f} ms, min {r['loop_chunk_min_ms']:.1f} ms, "
        f"max {r['loop_chunk_max_ms']:.1f} ms; warm p50 {r['chunk_p50_ms']:.1f} ms, "
        f"p95 {r['chunk_p95_ms']:.1f} ms"
        + (
            ""
            if r.get("loop_image_change") is None
            else f"; camera frame change between chunks {r['loop_image_change']:.1f} (mean |Δpixel|)"
        )
        for r in rows
    ]
    lines += [""] + [
        f"{r['variant']}: tasks weighted equally, success {r['balanced_success']:.3f}, paired diff "
        f"{r['balanced_diff']:+.3f} ± {r['balanced_diff_se']:.3f} (SE from the per-task SEs)"
        for r in rows
        if "balanced_diff" in r
    ]
    lines += [
        "",
        "| variant | " + " | ".join(rows[0]["per_task"]) + " |",
        "|---|" + "---|" * len(rows[0]["per_task"]),
    ]
    for r in rows:
        cells = [
            f"{v['success']:.2f} ({v['diff']:+.2f} ± {v['diff_se']:.2f}, n {v['episodes']})" if v else "–"
            for v in (r["per_task"].get(task) for task in rows[0]["per_task"])
        ]
        lines.append(f"| {r['variant']} | " + " | ".join(cells) + " |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["compile", "run", "summary", "heldout", "precision"])
    parser.add_argument("--policy", default="runs/smolvla-mw/policy")
    parser.add_argument("--variant", action="append", default=[], help="compile: name=recipe")
    parser.add_argument("--variants", nargs="+", default=["baseline"], help="run/summary (first: the base)")
    parser.add_argument("--tasks", nargs="+", default=list(DEFAULT_TASKS))
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--first", type=int, default=0, help="first episode index (pilot: 0)")
    parser.add_argument("--execute", type=int, default=4, help="actions executed per chunk")
    parser.add_argument("--seed", type=int, default=100_000, help="layout seed: seed + episode")
    parser.add_argument("--frames", type=int, default=200, help="summary: held-out MSE frames (0: none)")
    parser.add_argument("--warm-warmup", type=int, default=10, help="summary: untimed warm calls")
    parser.add_argument("--warm-iterations", type=int, default=100, help="summary: timed warm calls")
    parser.add_argument("--max-steps", type=int, default=DEFAULT_MAX_STEPS, help="run: episode step cap")
    parser.add_argument("--supersample", type=int, default=2, help="run: render k x, box-filter")
    parser.add_argument("--warmup-calls", type=int, default=0, help="run: untimed calls per runtime first")
    parser.add_argument("--target", default="x86-cpu")
    parser.add_argument("--set", action="append", default=[], help="compile: --set KEY=VALUE, repeatable")
    parser.add_argument("--data", help="compile: demonstrations .npz passed as --data (recovery recipes)")
    parser.add_argument("--artifacts", default=str(ARTIFACTS))
    parser.add_argument("--out", default="bench/results/smolvla-mw")
    args = parser.parse_args()
    if args.step == "compile":
        compile_variants(
            Path(args.policy), args.variant, args.target, Path(args.artifacts), args.data, args.set
        )
    elif args.step == "run":
        run(args)
    elif args.step == "heldout":
        heldout(args)
    elif args.step == "precision":
        precision(args)
    else:
        summary(args)


if __name__ == "__main__":
    main()
