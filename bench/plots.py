"""RD plots: one figure per metric, every method on it, line style decided by the method's role.

Sandwich methods are solid, baselines dashed, published references dotted; MS-SSIM is drawn in
dB (-10 log10(1 - v)) so its high-quality end is readable.
"""
from __future__ import annotations

import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

ROLE_STYLE = {
    "sandwich": {"linestyle": "-", "linewidth": 2.0},
    "baseline": {"linestyle": "--", "linewidth": 1.4},
    "post_only": {"linestyle": "-.", "linewidth": 1.4},
    "pre_only": {"linestyle": "-.", "linewidth": 1.4},
    "learned": {"linestyle": (0, (5, 1, 1, 1)), "linewidth": 1.4},
    "reference": {"linestyle": ":", "linewidth": 1.4},
}
MARKERS = "osD^v<>pPX*h"


def axis_values(metric: str, values: list[float]) -> tuple[list[float], str]:
    """Values and axis label as plotted (MS-SSIM converted to dB)."""
    if metric.startswith("ms-ssim") and not metric.endswith("-db"):
        out = [-10 * math.log10(max(1 - v, 1e-12)) if v is not None else math.nan for v in values]
        return out, f"{metric.upper()} [dB]"
    unit = " [dB]" if metric.startswith("psnr") else ""
    return [math.nan if v is None else v for v in values], f"{metric.upper()}{unit}"


def rd_figure(methods: dict[str, dict[str, Any]], metric: str, title: str, rate_label: str = "bpp") -> Figure:
    """``methods``: name -> {label, role, rd: {bpp: [...], metric: [...]}}; missing metrics skipped."""
    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=120)
    ylabel = metric
    for i, (name, m) in enumerate(methods.items()):
        rd = m["rd"]
        if metric not in rd or not rd.get("bpp"):
            continue
        pts = sorted(zip(rd["bpp"], rd[metric]), key=lambda p: p[0])
        ys, ylabel = axis_values(metric, [p[1] for p in pts])
        style = ROLE_STYLE.get(m["role"], ROLE_STYLE["baseline"])
        ax.plot([p[0] for p in pts], ys, marker=MARKERS[i % len(MARKERS)], markersize=4,
                label=m.get("label", name), **style)
    ax.set_xlabel(rate_label)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def close(fig: Figure) -> None:
    plt.close(fig)
