"""Summarise compile reports (one per recipe) as a Markdown table: params, GFLOPs, mAP, FPS per row.

python bench/compress_table.py runs/bench-compress/*/report.json
"""

from __future__ import annotations

import sys
from pathlib import Path

from edgecompress.report import Report


def main() -> None:
    columns = [
        "recipe",
        "row",
        "runtime",
        "precision",
        "params M",
        "GFLOPs",
        "mAP50",
        "mAP50-95",
        "p50 ms",
        "FPS",
        "stage s",
    ]
    print("| " + " | ".join(columns) + " |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path in sys.argv[1:]:
        report = Report.read(Path(path))
        for r in report.rows:
            acc, lat = r.accuracy, r.latency
            print(
                f"| {report.recipe['name']} | {r.name} | {r.measured_on.runtime} | "
                f"{r.measured_on.precision} | "
                f"{r.params / 1e6:.3f} | {r.gflops:.2f} | {acc.map50:.4f} | {acc.map50_95:.4f} | "
                f"{lat.p50_ms:.2f} | {lat.fps:.1f} | {r.wall_s or 0:.0f} |"
            )
    print(f"\nMachine: {report.environment['cpu']}; command per row: `{report.command}` (recipe varies).")


if __name__ == "__main__":
    main()
