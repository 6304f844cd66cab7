"""Render ``report.md`` and the accuracy-vs-latency plot from ``report.json`` alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgecompress.report.scatter import scatter_plot
from edgecompress.report.schema import MeasuredOn, Report, StageRow

PLOT_NAME = "report.png"


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def precision_cell(measured_on: MeasuredOn) -> str:
    """The precision asked for, with the float precision the runtime ran where it was read back."""
    ran = measured_on.executed_precision
    return measured_on.precision if ran is None else f"{measured_on.precision} (ran {ran})"


def _row_line(row: StageRow) -> str:
    m, acc, lat = row.measured_on, row.accuracy, row.latency
    return (
        f"| {row.name} | {m.runtime} {m.runtime_version} | {precision_cell(m)} | {row.params / 1e6:.3f} | "
        f"{row.gflops:.2f} | {_fmt(acc.map50 if acc else None)} | {_fmt(acc.map50_95 if acc else None)} | "
        f"{_fmt(lat.p50_ms if lat else None, 1)} | {_fmt(lat.p95_ms if lat else None, 1)} | "
        f"{_fmt(lat.fps if lat else None, 1)} | {_fmt(row.wall_s, 1)} |"
    )


def render_plot(report: Report, path: Path) -> Path:
    """Accuracy (mAP50-95) against p50 latency for every measured row."""
    points = [
        (
            row.latency.p50_ms,
            row.accuracy.map50_95,
            f"{row.name} ({row.measured_on.runtime} {row.measured_on.precision})",
        )
        for row in report.rows
        if row.accuracy and row.latency
    ]
    return scatter_plot(report, path, points, "p50 latency, ms (batch 1)", "mAP50-95 (full val split)")


GAMMA_PLOT_NAME = "gamma.png"


def render_gamma_plot(report: Report, path: Path) -> Path | None:
    """Histogram of BN |γ| before and after sparsity training, if a stage recorded one."""
    stages = [r for r in report.rows if "gamma_before" in r.details]
    if not stages:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    details = stages[-1].details
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    for key, label in (("gamma_before", "before"), ("gamma_after", "after")):
        hist = details[key]
        edges = hist["hist_edges"]
        ax.stairs(
            hist["hist_counts"],
            edges,
            label=f"{label}: {hist['fraction_below']:.1%} below {hist['threshold']}",
        )
    ax.set_xlabel("|γ| of BatchNorm (clipped at 2)")
    ax.set_ylabel("channels")
    ax.set_title(f"sparsity training, λ={details['lam']} ({details['schedule']})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def render_markdown(report: Report) -> str:
    """A human-readable report; every figure comes from ``report``."""
    env = report.environment
    lines = [
        f"# edgecompress report: {Path(report.model.source).name} → {report.target['name']}",
        "",
        f"- created {report.created}, total {report.total_wall_s:.0f} s, command `{report.command}`",
        f"- target **{report.target['name']}** ({report.target['description']}), backend "
        f"{report.target['backend']}, precision **{report.precision}**, recipe `{report.recipe['name']}`",
        f"- machine: {env.get('cpu')} (ISA: {', '.join(env.get('isa') or ['not recorded'])}), "
        f"{env.get('os')}, Python {env.get('python')}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in env.get("versions", {}).items()),
    ]
    if report.data:
        d = report.data
        lines.append(
            f"- accuracy: full `{d.split}` split of `{d.data_yaml}`: {d.images} images, {d.instances} boxes"
        )
    if report.calibration:
        c = report.calibration
        lines.append(f"- INT8 calibration: `{c.spec}`, {c.count} images of `{c.split}`")
    lines += [
        "",
        "| stage | runtime | precision | params (M) | GFLOPs | mAP50 | mAP50-95 | p50 ms | p95 ms | FPS "
        "| wall s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(_row_line(r) for r in report.rows),
        "",
    ]
    if speedup := speedup_line(report, bold=True):
        lines += [speedup, ""]
    lines += [f"![accuracy vs latency]({PLOT_NAME})", ""]
    if any("gamma_before" in r.details for r in report.rows):
        lines += [f"![BN scale histogram]({GAMMA_PLOT_NAME})", ""]
    return "\n".join(lines)


def render(report: Report, directory: Path) -> list[Path]:
    """Write ``report.md`` and the plot into ``directory``; return their paths."""
    if report.model.task == "action":  # policies: the reference VLA and SmolVLA
        from edgecompress.report.render_policy import render_policy_markdown, render_policy_plot

        (directory / "report.md").write_text(render_policy_markdown(report))
        return [directory / "report.md", render_policy_plot(report, directory / PLOT_NAME)]
    md = directory / "report.md"
    md.write_text(render_markdown(report))
    written = [md, render_plot(report, directory / PLOT_NAME)]
    gamma = render_gamma_plot(report, directory / GAMMA_PLOT_NAME)
    return written + ([gamma] if gamma else [])


def speedup_line(report: Report, bold: bool = False) -> str | None:
    """``Result vs baseline: 2.41× p50 speed-up, mAP50-95 -0.0053.`` (None without both rows timed)."""
    base, result = report.row("baseline") or report.row("original"), report.row("result")
    if not (base and result and base.latency and result.latency) or base is result:
        return None
    speedup = base.latency.p50_ms / result.latency.p50_ms
    accuracy = (
        f", mAP50-95 {result.accuracy.map50_95 - base.accuracy.map50_95:+.4f}"
        if base.accuracy and result.accuracy
        else ""
    )
    factor = f"**{speedup:.2f}×**" if bold else f"{speedup:.2f}×"
    where = (
        f" on {result.measured_on.runtime} on this CPU, standing in for the device until the engine is built"
        if str(result.details.get("engine", "")).startswith("pending")
        else ""
    )
    return f"Result vs {base.name}: {factor} p50 speed-up{accuracy}{where}."


RUNTIME_SHORT = {"openvino": "OV", "onnxruntime": "ORT", "tensorrt": "TRT", "torch": "torch"}
FLOAT_NAMES = {"fp32": "f32", "fp16": "f16", "bf16": "bf16"}


def compact_precision(measured_on: MeasuredOn) -> str:
    """``fp32`` when it ran as asked, ``int8/f32`` (INT8 with f32 for the rest), ``fp32/bf16`` otherwise."""
    ran, asked = measured_on.executed_precision, measured_on.precision
    return asked if ran is None or FLOAT_NAMES.get(asked) == ran else f"{asked}/{ran}"


def summary_table(report: Report) -> Any:
    """A compact rich table of the rows that fits 80 columns, for the terminal."""
    from rich import box
    from rich.table import Table

    if report.model.task == "action":  # policies: the reference VLA and SmolVLA
        from edgecompress.report.render_policy import policy_summary_table

        return policy_summary_table(report)

    title = f"{Path(report.model.source).name} → {report.target['name']}"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("stage", "ran on", "GFLOPs", "mAP50", "mAP50-95", "p50 ms", "FPS"):
        table.add_column(column, justify="left" if column in ("stage", "ran on") else "right", no_wrap=True)
    for row in report.rows:
        acc, lat, on = row.accuracy, row.latency, row.measured_on
        table.add_row(
            row.name,
            f"{RUNTIME_SHORT.get(on.runtime, on.runtime)} {compact_precision(on)}",
            f"{row.gflops:.2f}",
            _fmt(acc.map50 if acc else None),
            _fmt(acc.map50_95 if acc else None),
            _fmt(lat.p50_ms if lat else None, 1),
            _fmt(lat.fps if lat else None, 1),
        )
    return table
