"""Report figures: RD plots (drawn by ``bench.plots``, so roles look the same as in the run), per-item RD
curves as small multiples, and training curves, each saved as PNG for the web and as SVG and PDF for papers:
one paper column wide (``bench.plots.COLUMN``), the full text width when a legend or panels need it, labels
from ``bench.plots.METRIC_NAMES`` and Type 42 fonts (``bench.plots.PAPER_RC``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from bench import plots
from reports.compare import Comparison
from reports.items import PerItem

VECTOR = ("svg", "pdf")
PNG_DPI = 300  # a column-wide figure is then about 1000 px: sharp on screens too


@dataclass(frozen=True)
class FigureFiles:
    key: str  # file stem
    title: str
    png: Path
    vector: tuple[Path, ...]


def save(fig: Figure, folder: Path, key: str, title: str) -> FigureFiles:
    """PNG + SVG + PDF files."""
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{key}.png"
    fig.savefig(png, dpi=PNG_DPI)
    vector = tuple(folder / f"{key}.{ext}" for ext in VECTOR)
    for path in vector:
        fig.savefig(path)
    plots.close(fig)
    return FigureFiles(key, title, png, vector)


def _legend_outside(fig: Figure, most_inside: int = 5) -> None:
    """A long legend goes right of the axes, where it cannot hide curves; the figure then spans both columns."""
    ax = fig.axes[0]
    handles, labels = ax.get_legend_handles_labels()
    if len(handles) <= most_inside:
        return
    fig.set_size_inches(plots.WIDE, fig.get_size_inches()[1])
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    fig.tight_layout()


def rd_figures(comp: Comparison, folder: Path) -> list[FigureFiles]:
    """One RD figure per metric with every entry; axes focused on the measured curves."""
    methods = {k: {"label": e.label, "role": e.role, "rd": e.rd} for k, e in comp.entries.items()}
    experiments = " + ".join(dict.fromkeys(r.summary["experiment"] for r in comp.runs))
    datasets = " + ".join(dict.fromkeys(str(r.summary["dataset"]) for r in comp.runs))
    out = []
    for metric in comp.metrics:
        title = f"{experiments}: {plots.metric_name(metric)} on {datasets}"
        lines = list(
            {
                (ln["value"], ln["label"]): ln
                for r in comp.runs
                for ln in r.summary.get("reference_lines", {}).get(metric, [])
            }.values()
        )
        fig = plots.rd_figure(
            methods, metric, title, plots.rate_label(comp.rate_key), rate_key=comp.rate_key, focus=True, lines=lines
        )
        _legend_outside(fig)
        out.append(save(fig, folder, f"rd_{metric}", title))
    return out


def per_item_figure(comp: Comparison, view: PerItem, title: str) -> Figure:
    """One panel per item, each with every measured method's curve on that item alone; colour, marker and line
    style as in the run's RD figure (position among the report's entries, role), one legend for all panels."""
    import matplotlib.pyplot as plt

    n = max(len(view.items), 1)
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    # the full text width; constrained layout keeps the suptitle and the legend below the panels clear of them
    fig, axes = plt.subplots(
        rows, cols, figsize=(plots.WIDE, plots.WIDE / 4 * 0.85 * rows + 0.8), squeeze=False, layout="constrained"
    )
    order = list(comp.entries)
    handles: dict[str, Any] = {}
    ylabel = plots.metric_name(view.metric)
    for ax, item in zip(axes.flat, view.items, strict=False):
        for curve in view.curves[item]:
            i = order.index(curve.entry.key)
            pts = sorted(
                (r, q) for r, q in zip(curve.rates, curve.quality, strict=True) if math.isfinite(r) and math.isfinite(q)
            )
            ys, ylabel = plots.axis_values(view.metric, [q for _, q in pts])
            (line,) = ax.plot(
                [r for r, _ in pts],
                ys,
                marker=plots.MARKERS[i % len(plots.MARKERS)],
                markersize=2.5,
                color=f"C{i % 10}",
                label=curve.entry.label,
                **plots.role_style(curve.entry.role, 0.6),
            )
            handles.setdefault(curve.entry.label, line)
        ax.set_title(item if len(item) <= 32 else item[:29] + "...", fontsize=6.5)
        ax.tick_params(labelsize=6)
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(view.items) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel(plots.rate_label(view.rate_key), fontsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel, fontsize=7)
    fig.suptitle(title, fontsize=8)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncol=min(len(handles), 4))
    return fig


def per_item_figures(comp: Comparison, views: list[PerItem], folder: Path) -> list[FigureFiles]:
    """Each run's per-item figure on its headline metric (file ``per_item_<metric>``, the run tag added when runs
    are merged)."""
    out = []
    for view in views:
        tag = f" [{view.run.tag}]" if view.run.tag else ""
        title = f"{view.run.summary['experiment']}{tag}: {plots.metric_name(view.metric)} per item ({view.shown})"
        out.append(save(per_item_figure(comp, view, title), folder, f"per_item_{view.key}", title))
    return out


def training_figure(run_label: str, metric: str, curves: dict[str, list[tuple[int, float]]]) -> Figure:
    """One metric's history, a line per MLflow run (parent or child) that logged it."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(plots.COLUMN, 2.4))
    for i, (name, pts) in enumerate(sorted(curves.items())):
        ax.plot([s for s, _ in pts], [v for _, v in pts], color=f"C{i % 10}", linewidth=0.8, label=name)
    ax.set_xlabel("Training step")
    ax.set_ylabel(plots.metric_name(metric))
    ax.set_title(f"{run_label}: {plots.metric_name(metric)}")
    ax.grid(True, alpha=0.3)
    if len(curves) <= 12:
        ax.legend(fontsize=5.5)
    fig.tight_layout()
    return fig


def training_figures(
    histories: dict[str, dict[str, dict[str, list[tuple[int, float]]]]], folder: Path
) -> list[FigureFiles]:
    """``histories``: run label -> metric -> MLflow run name -> (step, value)."""
    out = []
    for run_label, per_metric in histories.items():
        for metric, curves in sorted(per_metric.items()):
            key = "train_" + "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in f"{run_label}_{metric}")
            fig = training_figure(run_label, metric, curves)
            out.append(save(fig, folder, key, f"{run_label}: {plots.metric_name(metric)}"))
    return out
