"""Figures read off the closed-loop harness's episode lines (``OUT/<variant>/<task>.jsonl``), no runtime:

- ``chunks``: each chunk's time for the base over the variant's, paired on the same task, episode and
  chunk index (so the same observation sequence start and the same noise), median and IQR;
- ``blocks``: paired success differences in blocks of episode indices, per task;
- ``agree``: how many episode outcomes differ between two result folders for the same variant
  (e.g. one policy lowered two ways), on the episodes both hold.

    python bench/policy/smolvla_episode_compare.py chunks --out OUT --base baseline --variants lean-ft
    python bench/policy/smolvla_episode_compare.py blocks --out OUT --variants lean-ft --edges 0 100 300 500
    python bench/policy/smolvla_episode_compare.py agree --out OUT --other OTHER --variants baseline lean-ft
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from smolvla_metaworld_eval import read_episodes as episodes


def chunk_ratios(base: dict, other: dict) -> dict[str, float]:
    """Median and quartiles of base / other chunk time on the same (task, episode, chunk index)."""
    ratios = [
        b / o
        for key in sorted(set(base) & set(other))
        for b, o in zip(base[key]["chunk_s"], other[key]["chunk_s"], strict=False)
    ]
    q1, median, q3 = np.percentile(ratios, [25, 50, 75])
    return {"pairs": len(ratios), "median": float(median), "q1": float(q1), "q3": float(q3)}


def block_differences(base: dict, other: dict, edges: list[int]) -> list[dict]:
    """Per task and block [edges[i], edges[i+1]): successes of each and the paired diff ± SE (points)."""
    rows = []
    for task in sorted({t for t, _ in base}):
        for start, end in [*itertools.pairwise(edges), (edges[0], edges[-1])]:
            keys = [(task, e) for e in range(start, end) if (task, e) in base and (task, e) in other]
            if len(keys) < 2:
                continue
            diff = np.array([float(other[k]["success"]) - float(base[k]["success"]) for k in keys])
            rows.append({
                "task": task, "first": start, "end": end, "n": len(keys),
                "base": int(sum(base[k]["success"] for k in keys)),
                "variant": int(sum(other[k]["success"] for k in keys)),
                "diff_points": round(100 * float(diff.mean()), 1),
                "se_points": round(100 * float(diff.std(ddof=1)) / math.sqrt(len(diff)), 1),
            })  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["chunks", "blocks", "agree"])
    parser.add_argument("--out", type=Path, required=True, help="the harness's result folder")
    parser.add_argument("--base", default="baseline")
    parser.add_argument("--variants", nargs="+", required=True)
    parser.add_argument("--edges", nargs="+", type=int, default=[0, 100, 300, 500], help="blocks")
    parser.add_argument("--other", type=Path, help="agree: the second result folder")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    result: dict = {"command": "python " + " ".join(sys.argv)}
    for variant in args.variants:
        mine = episodes(args.out, variant)
        if args.step == "agree":
            assert args.other is not None, "agree needs --other"
            theirs = episodes(args.other, variant)
            shared = sorted(set(mine) & set(theirs))
            differ = [list(k) for k in shared if bool(mine[k]["success"]) != bool(theirs[k]["success"])]
            result[variant] = {"episodes": len(shared), "differing": differ}
        else:
            base = episodes(args.out, args.base)
            compare = chunk_ratios if args.step == "chunks" else None
            result[variant] = compare(base, mine) if compare else block_differences(base, mine, args.edges)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
