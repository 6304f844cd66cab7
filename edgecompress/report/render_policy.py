"""Render a policy compile's ``report.md``, plot and terminal table from ``report.json`` alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgecompress.report.schema import Report, StageRow

PLOT_NAME = "report.png"


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _cells(row: StageRow) -> list[str]:
    m, acc, lat = row.measured_on, row.policy, row.latency
    return [
        row.name,
        f"{m.runtime} {m.runtime_version}",
        f"{row.params / 1e6:.3f}",
        f"{row.gflops:.3f}",
        _fmt(acc.action_mse if acc else None, 5),
        _fmt(acc.success_rate if acc else None, 3),
        _fmt(lat.p50_ms if lat else None, 1),
        _fmt(lat.p95_ms if lat else None, 1),
        _fmt(row.wall_s, 1),
    ]


HEADER = [
    "stage",
    "runtime",
    "params (M)",
    "GFLOPs/chunk",
    "action MSE",
    "success",
    "p50 ms",
    "p95 ms",
    "wall s",
]


def _reference(report: Report) -> str:
    """What the rows' action MSE compares with (the same for every row of one report)."""
    scored = [row.policy for row in report.rows if row.policy]
    if scored and scored[0].reference == "original":
        frames = scored[0].frames
        return f"the original policy in PyTorch on {frames} seeded synthetic observations (same noise)"
    return "the expert's actions in held-out demonstrations"


def render_policy_plot(report: Report, path: Path) -> Path:
    """Action-chunk error against p50 latency per action chunk, one point per row."""
    from edgecompress.report.scatter import scatter_plot

    points = [
        (row.latency.p50_ms, row.policy.action_mse, f"{row.name} ({row.measured_on.runtime})")
        for row in report.rows
        if row.policy and row.latency
    ]
    ylabel = f"action-chunk MSE vs {_reference(report)} (lower is better)"
    return scatter_plot(report, path, points, "p50 latency per action chunk, ms", ylabel)


def render_policy_markdown(report: Report) -> str:
    """A human-readable policy report; every figure comes from ``report``."""
    env, data = report.environment, report.data
    lines = [
        f"# edgecompress report: {Path(report.model.source).name} → {report.target['name']} (policy)",
        "",
        f"- created {report.created}, total {report.total_wall_s:.0f} s, command `{report.command}`",
        f"- target **{report.target['name']}**, backend {report.target['backend']}, "
        f"recipe `{report.recipe['name']}`",
        f"- machine: {env.get('cpu')}, {env.get('os')}, Python {env.get('python')}",
        ("- cameras: " if report.model.family == "smolvla" else "- tasks: ") + "; ".join(report.model.names),
        f"- action MSE: against {_reference(report)}",
    ]
    if data:
        lines.append(
            f"- accuracy: {data.images} held-out frames of {data.instances} episodes in `{data.data_yaml}`"
        )
    lines += ["", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in report.rows]
    base, result = report.row("baseline") or report.row("original"), report.row("result")
    if base and result and base.latency and result.latency and base is not result:
        lines += [
            "",
            f"Result vs {base.name}: **{base.latency.p50_ms / result.latency.p50_ms:.2f}×** p50 speed-up, "
            f"FLOPs {result.gflops / base.gflops:.1%} of the {base.name}'s.",
        ]
    return "\n".join([*lines, "", f"![action error vs latency]({PLOT_NAME})", ""])


def policy_summary_table(report: Report) -> Any:
    """A compact rich table of the rows, for the terminal."""
    from rich.table import Table

    table = Table(title=f"{Path(report.model.source).name} → {report.target['name']}", title_justify="left")
    for column in HEADER:
        table.add_column(column, justify="left" if column in ("stage", "runtime") else "right")
    for row in report.rows:
        table.add_row(*_cells(row))
    return table
