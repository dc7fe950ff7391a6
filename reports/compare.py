"""Several runs merged into one comparison: methods keyed and labelled so runs stay apart.

Each run keeps its own anchor and its own BD entries (``summary.json``, computed by
``bench.rd``): a method is only ever compared with the anchor it was measured beside. When runs
are merged, every method gets its run's tag (the profile when the profiles differ, else the run
id) in its key and label; a published curve that is identical in several runs is shown once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.records import headline_first, headline_of
from reports.load import RunData


@dataclass(frozen=True)
class Entry:
    """One curve of the report: a method of one run."""

    key: str
    method: str
    label: str
    role: str
    kind: str  # measured | published
    rd: dict[str, list[float]]
    run: RunData


@dataclass(frozen=True)
class BDRow:
    """One summary.json BD entry, pointing at the report's entries."""

    run: RunData
    entry: Entry
    anchor: Entry
    metric: str
    data: Mapping[str, Any]  # the summary's BDEntry, read only


@dataclass
class Comparison:
    runs: list[RunData]
    entries: dict[str, Entry]
    metrics: list[str]  # the headline first, then the others in the runs' order
    bd_rows: list[BDRow]
    rate_key: str
    lookup: dict[tuple[int, str], Entry]  # (id(run), method name) -> entry
    headline: str  # the first run's headline metric (summary.json, else its first metric)

    @property
    def merged(self) -> bool:
        return len(self.runs) > 1

    def entry_of(self, run: RunData, method: str) -> Entry:
        return self.lookup[(id(run), method)]


def run_tags(runs: list[RunData]) -> list[str]:
    """Shortest names that tell the runs apart: profile, else run id, else experiment/run id."""
    for make in (lambda r: r.summary.get("profile") or "", lambda r: r.summary["run_id"], lambda r: r.name):
        tags = [make(r) for r in runs]
        if all(tags) and len(set(tags)) == len(tags):
            return tags
    return [f"{i + 1}:{r.name}" for i, r in enumerate(runs)]


def rate_key(runs: list[RunData]) -> str:
    """kbps for video results that carry it, else bpp."""
    rds = [m["rd"] for r in runs for m in r.summary["methods"].values()]
    return "kbps" if rds and all("kbps" in rd for rd in rds) else "bpp"


def _shared(runs: list[RunData], name: str) -> bool:
    """A published curve that every run holding it holds identically: shown once, untagged."""
    curves = [r.summary["methods"][name] for r in runs if name in r.summary["methods"]]
    return all(c["kind"] == "published" and c["rd"] == curves[0]["rd"] for c in curves)


def compare(runs: list[RunData]) -> Comparison:
    merged = len(runs) > 1
    tags = run_tags(runs) if merged else [""]
    entries: dict[str, Entry] = {}
    lookup: dict[tuple[int, str], Entry] = {}
    for run, tag in zip(runs, tags, strict=True):
        run.tag = tag
        for name, m in run.summary["methods"].items():
            label = m.get("label") or name
            key = name if not merged or _shared(runs, name) else f"{name}@{tag}"
            if key not in entries:
                entries[key] = Entry(
                    key, name, label if key == name else f"{label} [{tag}]", m["role"], m["kind"], m["rd"], run
                )
            lookup[(id(run), name)] = entries[key]
    headline = headline_of(runs[0].summary)
    metrics = headline_first(list(dict.fromkeys(k for r in runs for k in r.summary["metrics"])), headline)
    rows = [
        BDRow(r, lookup[(id(r), e["method"])], lookup[(id(r), e["anchor"])], e["metric"], e)
        for r in runs
        for e in r.summary["bd"]
    ]
    return Comparison(runs, entries, metrics, rows, rate_key(runs), lookup, headline)
