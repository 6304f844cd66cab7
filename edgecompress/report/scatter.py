"""The latency-against-accuracy scatter that every report plot draws."""

from __future__ import annotations

from pathlib import Path

from edgecompress.report.schema import Report


def scatter_plot(
    report: Report, path: Path, points: list[tuple[float, float, str]], xlabel: str, ylabel: str
) -> Path:
    """A labelled scatter of (latency, metric, label) points, titled with the model and target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for x, y, label in points:
        ax.scatter(x, y, s=60)
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_xlabel(f"{xlabel} ({report.environment.get('cpu', '')[:40]})")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{Path(report.model.source).name} → {report.target['name']}")
    ax.grid(alpha=0.3)
    ax.margins(x=0.25, y=0.15)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
