"""Print a benchmark result JSON (bench/results/*.json) as a Markdown table for BENCHMARKS.md.

python bench/table.py bench/results/vs_ultralytics.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    result = json.loads(Path(sys.argv[1]).read_text())
    rows = result["rows"]
    print(
        f"Machine: {result['cpu']}, {result['threads']} inference threads, batch 1. Versions: "
        + ", ".join(f"{k} {v}" for k, v in result["versions"].items())
        + "."
    )
    print(f"\nCommand: `{result['command']}`\n")
    columns = [
        "case",
        "model",
        "method",
        "imgsz",
        "FPS (p50)",
        "p50 ms",
        "p95 ms",
        "mAP50",
        "mAP50-95",
        "val images",
        "build s",
    ]
    print("| " + " | ".join(columns) + " |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['case']} | {r['model']} | {r['method']} | {r['imgsz']} | {r['fps_p50']} | {r['p50_ms']} | "
            f"{r['p95_ms']} | {r['map50']:.4f} | {r['map50_95']:.4f} | {r['val_images']} | {r['build_s']} |"
        )


if __name__ == "__main__":
    main()
