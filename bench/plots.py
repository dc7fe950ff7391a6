"""RD plots: one figure per metric, every method on it, line style decided by the method's role.

Sandwich methods are solid, baselines dashed, published references dotted; MS-SSIM is drawn in
dB (-10 log10(1 - v)) so its high-quality end is readable.
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

ROLE_STYLE: dict[str, dict[str, Any]] = {  # Axes.plot keywords per method role
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
    unit = " [dB]" if metric.startswith("psnr") or metric.endswith("-db") else ""
    return [math.nan if v is None else v for v in values], f"{metric.upper()}{unit}"


def rd_figure(
    methods: dict[str, dict[str, Any]],
    metric: str,
    title: str,
    rate_label: str = "bpp",
    *,
    rate_key: str = "bpp",
    focus: bool = False,
    lines: list[dict[str, Any]] | tuple[()] = (),
) -> Figure:
    """``methods``: name -> {label, role, rd: {bpp: [...], metric: [...]}}; missing metrics skipped.

    Colour and marker follow the method's position in ``methods``, so a method looks the same in
    every metric's figure even when another method lacks that metric. ``focus`` limits the axes
    to the measured (non-reference) curves' rate range, so a long published curve cannot squeeze them.
    ``lines``: horizontal reference lines ({value, label}) such as the HDR saturation PSNR.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=120)
    ylabel = metric
    drawn: list[tuple[str, list[float], list[float]]] = []
    for i, (name, m) in enumerate(methods.items()):
        rd = m["rd"]
        if metric not in rd or not rd.get(rate_key):
            continue
        pts = sorted(zip(rd[rate_key], rd[metric], strict=False), key=lambda p: p[0])
        ys, ylabel = axis_values(metric, [p[1] for p in pts])
        style = ROLE_STYLE.get(m["role"], ROLE_STYLE["baseline"])
        ax.plot(
            [p[0] for p in pts],
            ys,
            marker=MARKERS[i % len(MARKERS)],
            markersize=4,
            color=f"C{i % 10}",
            label=m.get("label", name),
            **style,
        )
        drawn.append((m["role"], [p[0] for p in pts], ys))
    for line in lines:  # e.g. the HDR saturation: drawn, never part of the focus range
        ax.axhline(line["value"], color="0.35", linestyle=":", linewidth=1.2, label=line["label"])
    if focus and drawn:
        _focus(ax, drawn)
    ax.set_xlabel(rate_label)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _focus(ax: Any, drawn: list[tuple[str, list[float], list[float]]]) -> None:
    """x: the measured curves' rate range (all curves when only references); y: what lies inside it."""
    own = [d for d in drawn if d[0] != "reference"] or drawn
    xs = [x for _, x_list, _ in own for x in x_list if math.isfinite(x)]
    if not xs:
        return
    x_lo, x_hi = min(xs), max(xs)
    pad = 0.05 * (x_hi - x_lo or x_hi or 1.0)
    x_lo, x_hi = max(x_lo - pad, 0.0), x_hi + pad
    ys = [
        y
        for _, x_list, y_list in drawn
        for x, y in zip(x_list, y_list, strict=True)
        if x_lo <= x <= x_hi and math.isfinite(y)
    ]
    ax.set_xlim(x_lo, x_hi)
    if ys:
        y_pad = 0.05 * (max(ys) - min(ys) or abs(max(ys)) or 1.0)
        ax.set_ylim(min(ys) - y_pad, max(ys) + y_pad)


def close(fig: Figure) -> None:
    plt.close(fig)
