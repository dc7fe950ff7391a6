"""RD plots: one figure per metric, every method on it, line style decided by the method's role.

Sandwich methods are solid, baselines dashed, published references dotted; MS-SSIM is drawn in
dB (-10 log10(1 - v)) so its high-quality end is readable. Figures are sized for a paper column
(:data:`COLUMN` wide, :data:`WIDE` for two columns) with TrueType (Type 42) fonts in PDF/PS: journals
reject Type 3 fonts, matplotlib's default.
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

COLUMN, WIDE = 3.5, 7.16  # inches: one column / the full text width of a two-column paper (IEEE)
PAPER_RC: dict[str, Any] = {
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "legend.fontsize": 6.5,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
}
matplotlib.rcParams.update(PAPER_RC)  # type: ignore[arg-type]

METRIC_NAMES = {  # the one mapping from a result key to what a reader is shown (units added by axis_values)
    "psnr-rgb": "PSNR (RGB)",
    "psnr-y": "PSNR (Y)",
    "psnr-yuv": "PSNR (YUV 6:1:1)",
    "psnr-yuv-pooled": "PSNR (YUV, pooled MSE)",
    "ms-ssim-rgb": "MS-SSIM (RGB)",
    "ms-ssim-rgb-db": "MS-SSIM (RGB)",
    "lpips-alex": "LPIPS (AlexNet)",
    "lpips-vgg": "LPIPS (VGG)",
    "vmaf": "VMAF",
    "vmaf-neg": "VMAF NEG",
    "psnr": "PSNR",
    "ms-ssim": "MS-SSIM",
}
RATE_LABELS = {"bpp": "Rate [bpp]", "kbps": "Rate [kbps]"}


def metric_name(key: str) -> str:
    """``psnr-rgb`` -> ``PSNR (RGB)``; a key not in :data:`METRIC_NAMES` (a training loss) is shown as it is."""
    return METRIC_NAMES.get(key, key)


def rate_label(key: str) -> str:
    return RATE_LABELS.get(key, key)


ROLE_STYLE: dict[str, dict[str, Any]] = {  # Axes.plot keywords per method role
    "sandwich": {"linestyle": "-", "linewidth": 2.0},
    "baseline": {"linestyle": "--", "linewidth": 1.4},
    "post_only": {"linestyle": "-.", "linewidth": 1.4},
    "pre_only": {"linestyle": "-.", "linewidth": 1.4},
    "learned": {"linestyle": (0, (5, 1, 1, 1)), "linewidth": 1.4},
    "reference": {"linestyle": ":", "linewidth": 1.4},
}
MARKERS = "osD^v<>pPX*h"


def role_style(role: str, width: float = 1.0) -> dict[str, Any]:
    """The role's line style, its width scaled by ``width`` (small panels draw thinner lines)."""
    style = ROLE_STYLE.get(role, ROLE_STYLE["baseline"])
    return {**style, "linewidth": style["linewidth"] * width}


def axis_values(metric: str, values: list[float]) -> tuple[list[float], str]:
    """Values and axis label as plotted (MS-SSIM converted to dB)."""
    if metric.startswith("ms-ssim") and not metric.endswith("-db"):
        out = [-10 * math.log10(max(1 - v, 1e-12)) if v is not None else math.nan for v in values]
        return out, f"{metric_name(metric)} [dB]"
    unit = " [dB]" if metric.startswith("psnr") or metric.endswith("-db") else ""
    return [math.nan if v is None else v for v in values], f"{metric_name(metric)}{unit}"


def rd_figure(
    methods: dict[str, dict[str, Any]],
    metric: str,
    title: str,
    rate_label: str = "Rate [bpp]",
    *,
    rate_key: str = "bpp",
    focus: bool = False,
    lines: list[dict[str, Any]] | tuple[()] = (),
) -> Figure:
    """``methods``: name -> {label, role, rd: {bpp: [...], metric: [...]}}; missing metrics skipped.

    Colour and marker follow the method's position in ``methods``, so a method looks the same in
    every metric's figure even when another method lacks that metric. ``focus`` limits the axes
    to the measured (non-reference) curves' rate range, so a long published curve cannot squeeze them.
    ``lines``: horizontal reference lines ({value, label}) such as the HDR saturation PSNR. A curve or
    line that ends up outside the axes is left out of the legend: a name there must be a line one can see.
    """
    fig, ax = plt.subplots(figsize=(COLUMN, 2.6))
    ylabel = metric_name(metric)
    drawn: list[tuple[str, list[float], list[float]]] = []
    for i, (name, m) in enumerate(methods.items()):
        rd = m["rd"]
        if metric not in rd or not rd.get(rate_key):
            continue
        pts = sorted(zip(rd[rate_key], rd[metric], strict=False), key=lambda p: p[0])
        ys, ylabel = axis_values(metric, [p[1] for p in pts])
        ax.plot(
            [p[0] for p in pts],
            ys,
            marker=MARKERS[i % len(MARKERS)],
            markersize=3,
            color=f"C{i % 10}",
            label=m.get("label", name),
            **role_style(m["role"], 0.7),
        )
        drawn.append((m["role"], [p[0] for p in pts], ys))
    if focus and drawn:
        _focus(ax, drawn)
    _unlabel_hidden(ax)
    _reference_lines(ax, lines)
    ax.set_xlabel(rate_label)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.tight_layout()
    return fig


def visible(xs: list[float], ys: list[float], xlim: tuple[float, float], ylim: tuple[float, float]) -> bool:
    """Whether any part of the polyline (a point, or a segment between two) lies inside the box."""
    pts = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(x) and math.isfinite(y)]
    (x0, x1), (y0, y1) = sorted(xlim), sorted(ylim)
    for (px, py), (qx, qy) in zip(pts, pts[1:] or pts, strict=False):
        for t in (i / 64 for i in range(65)):
            x, y = px + t * (qx - px), py + t * (qy - py)
            if x0 <= x <= x1 and y0 <= y <= y1:
                return True
    return False


def _unlabel_hidden(ax: Any) -> None:
    """Curves with nothing inside the axes leave the legend (they stay in the data, not in the figure)."""
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    for line in ax.get_lines():
        xs, ys = (list(map(float, v)) for v in line.get_data())
        if not visible(xs, ys, xlim, ylim):
            line.set_label("_hidden " + str(line.get_label()))


def _reference_lines(ax: Any, lines: list[dict[str, Any]] | tuple[()], most: float = 0.5) -> None:
    """Horizontal lines ({value, label}, e.g. the HDR 8-bit saturation) never enter the focus range; one just
    outside the axes widens them when that costs at most ``most`` of their height, one farther away is not
    drawn, so never named in the legend."""
    y_lo, y_hi = ax.get_ylim()
    span = y_hi - y_lo
    for line in lines:
        v = line["value"]
        lo, hi = min(y_lo, v - 0.03 * span), max(y_hi, v + 0.03 * span)
        if hi - lo <= (1 + most) * span:
            y_lo, y_hi = lo, hi
            ax.axhline(v, color="0.35", linestyle=":", linewidth=1.0, label=line["label"])
    ax.set_ylim(y_lo, y_hi)


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
