"""The report's short written summary: best method per metric and gains at named rates.

Only recorded numbers are used: BD-rates and CIs from ``summary.json``; quality at a named rate
is interpolated linearly in log-rate between a curve's own measured points (never extrapolated).
A winner is named only from a BD-rate whose CI excludes 0 and whose curves overlap enough
(:data:`MIN_OVERLAP`); otherwise the sentence declines and says why.
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


MIN_OVERLAP = 0.5
"""Least share of the two curves' quality range (``overlap_fraction``: the common interval over their union) on
which the summary names a winner. Below it BD-rate averages over a sliver of where the curves were measured,
so its sign says little about the rest; the tables still show the figure beside its overlap."""


def _ci(row: BDRow) -> tuple[float, float] | None:
    ci = (row.data.get("ci95") or {}).get("bd_rate_pct")
    return None if not ci or None in ci else (float(ci[0]), float(ci[1]))


def _ci_text(row: BDRow) -> str:
    ci = _ci(row)
    return f"95% CI [{ci[0]:+.1f}, {ci[1]:+.1f}]" if ci else ""


def _overlap_text(row: BDRow) -> str:
    return f"overlap {100 * float(row.data.get('overlap_fraction') or 0.0):.0f}% of the quality range"


def caveats(row: BDRow) -> list[str]:
    """Why ``row``'s BD-rate cannot name a winner: too little overlap, no CI, or a CI that includes 0."""
    why = []
    frac = float(row.data.get("overlap_fraction") or 0.0)
    if frac < MIN_OVERLAP:
        why.append(f"the curves overlap over {100 * frac:.0f}% of the quality range (less than {MIN_OVERLAP:.0%})")
    ci = _ci(row)
    if ci is None:
        reason = (row.data.get("ci95") or {}).get("reason")
        why.append("no CI" + (f" ({reason})" if reason else ""))
    elif ci[0] <= 0 <= ci[1]:
        why.append(f"its {_ci_text(row)} includes 0")
    return why


def _claim(row: BDRow, anchor: Entry) -> str:
    """A figure that may name a winner: with its CI and overlap."""
    x = row.data["bd_rate_pct"]
    sure = f"({_ci_text(row)}, {_overlap_text(row)})"
    if x < 0:
        return f"{row.entry.label} is best: BD-rate {x:+.1f}% {sure} against the anchor {anchor.label}"
    return f"the anchor {anchor.label} is best; the closest, {row.entry.label}, needs {x:.1f}% more bits {sure}"


def metric_sentence(
    rows: list[BDRow], anchor: Entry, metric: str, rates: tuple[float, ...], rate_key: str, headline: bool = False
) -> str:
    """The best method on ``metric`` against the anchor, its CI, overlap and quality at named rates; ``headline``
    marks the metric the run declared it is judged on. A figure with too little overlap or a CI that is missing
    or includes 0 names no winner: the sentence says so and why."""
    on = f"On {metric}{' (the headline metric)' if headline else ''}"
    done = [r for r in rows if r.data.get("bd_rate_pct") is not None]
    measured = [r for r in done if r.entry.kind == "measured"]
    if not measured:
        why = next((r.data.get("reason") for r in rows if r.data.get("reason")), "no other measured method")
        return f"{on}, no BD-rate against {anchor.label} could be computed ({why})."
    best = min(measured, key=lambda r: r.data["bd_rate_pct"])
    why = caveats(best)
    if not why:
        text = f"{on}, {_claim(best, anchor)}"
    else:
        text = (
            f"{on}, no winner is claimed against the anchor {anchor.label}: for the lowest BD-rate, "
            f"{best.entry.label}'s {best.data['bd_rate_pct']:+.1f}%, {'; '.join(why)}"
        )
        sure = [r for r in measured if not caveats(r)]
        if sure:
            claim = _claim(min(sure, key=lambda r: r.data["bd_rate_pct"]), anchor)
            text += f" (among figures with enough overlap and a CI that excludes 0, {claim})"
    gains = _gains(best.entry, anchor, metric, rates, rate_key)
    text += f"; {gains}" if gains else ""
    published = [r for r in done if r.entry.kind == "published"]
    if published:
        ref = min(published, key=lambda r: r.data["bd_rate_pct"])
        ci = _ci_text(ref) or "no CI: a published curve has no per-item values"
        text += (
            f". The best published curve, {ref.entry.label}, is at {ref.data['bd_rate_pct']:+.1f}% ({ci}, "
            f"{_overlap_text(ref)})"
        )
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
        f"{s['dataset']}, {len(items) or 'unknown number of'} items) compares {n_methods} "
        f"method{'s' if n_methods != 1 else ''}"
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
