"""The report's short written summary: best method per metric and gains at named rates.

Only recorded numbers are used: BD-rates and CIs from ``summary.json``; quality at a named rate
is interpolated linearly in log-rate between a curve's own measured points (never extrapolated).
"""

from __future__ import annotations

import math

import numpy as np

from bench.plots import axis_values
from bench.records import headline_first, headline_of
from reports.compare import BDRow, Comparison, Entry
from reports.load import RunData

NAMED_RATES: dict[str, tuple[float, ...]] = {"bpp": (0.25, 0.5, 1.0, 2.0), "kbps": (500.0, 1000.0, 2000.0, 4000.0)}


def quality_at(entry: Entry, metric: str, rate: float, rate_key: str) -> float | None:
    """Quality (display units: MS-SSIM in dB) at ``rate``, or None outside the measured range."""
    rates, qs = entry.rd.get(rate_key), entry.rd.get(metric)
    if not rates or not qs:
        return None
    shown, _ = axis_values(metric, qs)
    pts = sorted((r, q) for r, q in zip(rates, shown, strict=False) if r and r > 0 and math.isfinite(q))
    if len(pts) < 2 or not pts[0][0] <= rate <= pts[-1][0]:
        return None
    return float(np.interp(math.log(rate), [math.log(r) for r, _ in pts], [q for _, q in pts]))


def _unit(metric: str) -> str:
    label = axis_values(metric, [])[1]
    return " dB" if label.endswith("[dB]") else ""


def _gains(best: Entry, anchor: Entry, metric: str, rates: tuple[float, ...], rate_key: str) -> str:
    unit, parts = _unit(metric), []
    for rate in rates:
        qb, qa = quality_at(best, metric, rate, rate_key), quality_at(anchor, metric, rate, rate_key)
        if qb is not None and qa is not None:
            parts.append(f"at {rate:g} {rate_key} {qb:.2f}{unit} vs {qa:.2f}{unit} ({qb - qa:+.2f}{unit})")
    return "; ".join(parts)


def _ci_text(row: BDRow) -> str:
    ci = (row.data.get("ci95") or {}).get("bd_rate_pct")
    if not ci or None in ci:
        return ""
    note = ", which includes 0" if ci[0] <= 0 <= ci[1] else ""
    return f" (95% CI [{ci[0]:+.1f}, {ci[1]:+.1f}]{note})"


def metric_sentence(
    rows: list[BDRow], anchor: Entry, metric: str, rates: tuple[float, ...], rate_key: str, headline: bool = False
) -> str:
    """The best method on ``metric`` against the anchor, its CI and quality at named rates; ``headline``
    marks the metric the run declared it is judged on."""
    on = f"On {metric}{' (the headline metric)' if headline else ''}"
    done = [r for r in rows if r.data.get("bd_rate_pct") is not None]
    measured = [r for r in done if r.entry.kind == "measured"]
    if not measured:
        why = next((r.data.get("reason") for r in rows if r.data.get("reason")), "no other measured method")
        return f"{on}, no BD-rate against {anchor.label} could be computed ({why})."
    best = min(measured, key=lambda r: r.data["bd_rate_pct"])
    x = best.data["bd_rate_pct"]
    if x < 0:
        text = f"{on}, {best.entry.label} is best: BD-rate {x:+.1f}%{_ci_text(best)} against the anchor {anchor.label}"
    else:
        text = (
            f"{on}, the anchor {anchor.label} is best; the closest, {best.entry.label}, needs "
            f"{x:.1f}% more bits{_ci_text(best)}"
        )
    gains = _gains(best.entry, anchor, metric, rates, rate_key)
    text += f"; {gains}" if gains else ""
    published = [r for r in done if r.entry.kind == "published"]
    if published:
        ref = min(published, key=lambda r: r.data["bd_rate_pct"])
        text += f". The best published curve, {ref.entry.label}, is at {ref.data['bd_rate_pct']:+.1f}%"
    return text + "."


def run_paragraph(comp: Comparison, run: RunData, rates: tuple[float, ...] | None = None) -> str:
    s = run.summary
    anchor = comp.entry_of(run, s["anchor"])
    rates = rates or NAMED_RATES.get(comp.rate_key, ())
    n_methods = len(s["methods"]) - 1
    n_published = sum(1 for m in s["methods"].values() if m["kind"] == "published")
    items = {p["item"] for p in run.points}
    published = f" (of them {n_published} published curves)" if n_published else ""
    head = (
        f"{'Run ' + run.tag + ': ' if run.tag else ''}{s['experiment']} ({s['scenario']} scenario, "
        f"{s['dataset']}, {len(items) or 'unknown number of'} items) compares {n_methods} methods"
        f"{published} with the anchor {anchor.label}."
    )
    headline = headline_of(s)
    sentences = [
        metric_sentence(
            [r for r in comp.bd_rows if r.run is run and r.metric == m], anchor, m, rates, comp.rate_key, m == headline
        )
        for m in headline_first(s["metrics"], headline)
    ]
    return " ".join([head, *sentences])


def paragraphs(comp: Comparison, rates: tuple[float, ...] | None = None) -> list[str]:
    return [run_paragraph(comp, r, rates) for r in comp.runs]
