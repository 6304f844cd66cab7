"""Peak memory of a lowered SmolVLA artifact at deploy time: ``edgecompress.load`` and one action chunk,
in a fresh process per artifact (the process's peak RSS, ``getrusage``), with the chunk's wall time.

    python bench/policy/smolvla_runtime_memory.py ARTIFACT [ARTIFACT ...] --out RESULT.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def measure(artifact: Path) -> dict:
    """In this process: load ``artifact``, run one chunk on a seeded observation, report peak RSS."""
    import edgecompress
    from edgecompress.models.smolvla_observation import chunk_noise, random_observations

    started = time.perf_counter()
    runtime = edgecompress.load(artifact)
    loaded = time.perf_counter() - started
    meta = runtime.meta
    observation, noise = random_observations(meta, 1, seed=0)[0], chunk_noise(meta, seed=0)
    started = time.perf_counter()
    runtime(observation, noise)
    return {
        "artifact": str(artifact),
        "graphs": sorted(runtime.graphs),
        "load_s": round(loaded, 2),
        "first_chunk_s": round(time.perf_counter() - started, 3),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifacts", nargs="+", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.artifacts[0])))
        return
    rows = []
    for artifact in args.artifacts:
        child = subprocess.run(
            [sys.executable, __file__, str(artifact), "--one"], check=True, capture_output=True, text=True
        )
        rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"command": sys.argv, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
