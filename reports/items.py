"""Per-item RD curves of one run on one metric, and each method's BD against the anchor on each item alone.

A run's curves (and ``summary.json``'s BD) are means over the eval items; on a few video clips or a
mixed image set that mean can hide a method that wins on one item and loses on the others. The values
come from ``points.csv`` (one row per method x rate point x item), so a report of a run read back from
MLflow shows them too. A method's per-item curve is the same cells as its mean curve: every rate point
of a plain method, the mean curve's Pareto frontier (``meta.frontier``) of a family, so each per-item
figure is a slice of the run's own RD figure. BD is ``bench.rd.bd`` on those points, on the Pareto
frontier where a family is compared (as the summary does); one item has no bootstrap, so no CI.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.metrics import bd_axis
from bench.rd import bd
from reports.compare import Comparison, Entry
from reports.load import RunData

MAX_PANELS = 12  # a 4 x 3 grid stays readable on a page; the rest are counted, their values are in points.csv


@dataclass(frozen=True)
class ItemCurve:
    """One method's RD points on one item, in its mean curve's order (NaN where a value is missing)."""

    entry: Entry
    rates: list[float]
    quality: list[float]


@dataclass(frozen=True)
class ItemBD:
    """One method against the anchor on one item: ``bench.rd.BDResult.to_dict()`` plus ``hull``."""

    item: str
    entry: Entry
    data: dict[str, Any]


@dataclass
class PerItem:
    """A run's per-item view of ``metric``: the first ``len(items)`` eval items and what was left out."""

    run: RunData
    metric: str
    rate_key: str
    anchor: Entry
    items: list[str]
    n_items: int  # every item the run evaluated
    curves: dict[str, list[ItemCurve]] = field(default_factory=dict)  # item -> one curve per measured method
    bd: list[ItemBD] = field(default_factory=list)
    no_values: list[str] = field(default_factory=list)  # labels of curves without per-item values (published)

    @property
    def left_out(self) -> int:
        return self.n_items - len(self.items)

    @property
    def key(self) -> str:
        """File-name-safe stem shared by the figure and the table: the metric, after the run tag when merged."""
        text = f"{self.run.tag}_{self.metric}" if self.run.tag else self.metric
        return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)

    @property
    def shown(self) -> str:
        """How many items are shown, e.g. ``12 of 30 items``."""
        return f"{len(self.items)} of {self.n_items} items" if self.left_out else f"{self.n_items} items"


def _number(v: Any) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else math.nan


def _cells(run: RunData, method: str) -> list[tuple[str, float]]:
    """(method or member, rate point) of each point of the method's mean curve, in its order."""
    frontier = run.results_meta(method).get("frontier")
    if frontier:
        return [(f["member"], float(f["rate_point"])) for f in frontier]
    return [(method, float(rp)) for rp in run.summary["methods"][method]["rd"].get("rate_point") or []]


def _entries(comp: Comparison, run: RunData) -> Iterator[tuple[str, Entry]]:
    for name in run.summary["methods"]:
        yield name, comp.entry_of(run, name)


def per_item(comp: Comparison, run: RunData, metric: str, limit: int = MAX_PANELS) -> PerItem:
    """Per-item curves of every measured method of ``run`` on ``metric`` for its first ``limit`` items (eval
    order), and each method's BD against the run's anchor on each of them."""
    rate_key = run.summary.get("rate") or "bpp"
    items = list(dict.fromkeys(str(p["item"]) for p in run.points))
    out = PerItem(run, metric, rate_key, comp.entry_of(run, run.summary["anchor"]), items[:limit], len(items))
    rows = {(p["method"], _number(p["rate_point"]), str(p["item"])): p for p in run.points}
    by_method: dict[str, dict[str, ItemCurve]] = {}
    for name, entry in _entries(comp, run):
        cells = _cells(run, name) if entry.kind == "measured" else []
        found = [[rows.get((m, rp, item)) for m, rp in cells] for item in out.items]
        if not cells or all(r is None for per in found for r in per):
            out.no_values.append(entry.label)
            continue
        by_method[name] = {
            item: ItemCurve(
                entry,
                [_number(r.get(rate_key)) if r else math.nan for r in per],
                [_number(r.get(metric)) if r else math.nan for r in per],
            )
            for item, per in zip(out.items, found, strict=True)
        }
    out.curves = {item: [curves[item] for curves in by_method.values()] for item in out.items}
    anchor = run.summary["anchor"]
    higher, is_db = bd_axis(metric)
    families = {n for n, m in run.summary["methods"].items() if "members" in m}
    for item in out.items:
        for name, entry in _entries(comp, run):
            if name == anchor or entry.kind != "measured":
                continue
            hull = name in families or anchor in families
            if anchor not in by_method or name not in by_method:
                who = entry.label if name not in by_method else out.anchor.label
                data: dict[str, Any] = {"reason": f"no per-item values of {who} in points.csv", "hull": hull}
            else:
                a, t = by_method[anchor][item], by_method[name][item]
                res = bd(a.rates, a.quality, t.rates, t.quality, higher_is_better=higher, is_db=is_db, hull=hull)
                data = {**res.to_dict(), "hull": hull}
            out.bd.append(ItemBD(item, entry, data))
    return out
