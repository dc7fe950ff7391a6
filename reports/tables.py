"""BD and complexity tables: built once as plain rows, rendered as Markdown, HTML and LaTeX.

Every number comes from what the run recorded: BD values, CIs, overlaps and reasons from
``summary.json`` (computed by ``bench.rd``), timings from ``points.csv``, network complexity
from ``meta.complexity`` of a method's results file. A value that cannot be shown is ``n/a (k)``
with note k giving the reason, or ``—`` when the run simply has no such number.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.metrics import bd_axis
from reports.compare import BDRow, Comparison, Entry
from reports.items import PerItem

DASH = "—"
NOT_DB = "not a dB metric"


@dataclass
class Table:
    key: str  # file stem, e.g. bd_psnr-rgb
    title: str
    columns: list[str]
    align: str  # one of l/r per column
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # numbered notes, referenced as "n/a (k)"

    def na(self, reason: str | None) -> str:
        """``n/a (k)``, k numbering the distinct reasons of this table."""
        reason = reason or "not computed"
        if reason not in self.reasons:
            self.reasons.append(reason)
        return f"n/a ({self.reasons.index(reason) + 1})"


def _signed(x: float | None, digits: int) -> str | None:
    return None if x is None or not math.isfinite(x) else f"{x:+.{digits}f}"


def _ci(ci: list[float] | None, digits: int) -> str | None:
    if not ci or any(v is None for v in ci):
        return None
    return f"[{ci[0]:+.{digits}f}, {ci[1]:+.{digits}f}]"


def _overlap(d: Mapping[str, Any]) -> str | None:
    if not d.get("overlap"):
        return None
    lo, hi = d["overlap"]
    return f"{lo:.4g} to {hi:.4g} ({100 * d['overlap_fraction']:.0f}%)"


def bd_table(comp: Comparison, metric: str) -> Table:
    """One row per method against its run's anchor on ``metric``; the headline metric's table says so in its
    title, since it is the report's first results table."""
    rows = [r for r in comp.bd_rows if r.metric == metric]
    has_db = any(r.data.get("bd_psnr_reason") != NOT_DB for r in rows)
    anchors = sorted({r.anchor.label for r in rows})
    cols = ["Method", "Role"] + (["Anchor"] if len(anchors) > 1 else [])
    cols += ["BD-rate [%]", "95% CI"] + (["BD-PSNR [dB]", "95% CI"] if has_db else [])
    cols += [f"Overlap [{metric}]", "Points (anchor/test)"]
    against = "each run's anchor" if len(anchors) > 1 else f"{anchors[0] if anchors else 'the anchor'} (anchor)"
    headline = "Headline: " if metric == comp.headline else ""
    t = Table(
        f"bd_{metric}",
        f"{headline}BD-rate against {against} on {metric}",
        cols,
        "ll" + ("l" if len(anchors) > 1 else "") + "rr" + ("rr" if has_db else "") + "lr",
    )
    for r in rows:
        t.rows.append(_bd_cells(t, r, len(anchors) > 1, has_db))
    akima = [f"{r.entry.label} {v}" for r in rows if (v := _signed(r.data.get("bd_rate_pct_akima"), 2))]
    t.notes.append(
        "BD-rate by PCHIP interpolation (negative: fewer bits than the anchor at equal quality); "
        "95% CI: paired percentile bootstrap over items; overlap: the quality interval both "
        "curves cover (share of their union)."
    )
    if akima:
        t.notes.append("Akima cross-check of BD-rate [%]: " + "; ".join(akima) + ".")
    hulled = [r.entry.label for r in rows if r.data.get("hull")]
    if hulled:
        t.notes.append(
            f"On the Pareto frontier of each curve (a family of models, one per lambda): "
            f"{', '.join(hulled)}; `bench bdrate --hull` gives the same numbers."
        )
    if not has_db:
        t.notes.append(f"BD-PSNR is not shown: {metric} is not in dB.")
    return t


def per_item_table(view: PerItem) -> Table:
    """BD-rate (and BD-PSNR for a dB metric) of every measured method against the anchor on each item alone,
    for the items the per-item figure shows, in its order."""
    has_db = bd_axis(view.metric)[1]
    tag = view.run.tag
    cols = ["Item", "Method", "BD-rate [%]"] + ([f"BD-{view.metric} [dB]"] if has_db else [])
    cols += [f"Overlap [{view.metric}]", "Points (anchor/test)"]
    t = Table(
        f"bd_items_{view.key}",
        f"Per item{' [' + tag + ']' if tag else ''}: BD-rate against {view.anchor.label} (anchor) on {view.metric}",
        cols,
        "ll" + "r" * (2 if has_db else 1) + "lr",
    )
    wins: dict[str, list[int]] = {}
    for b in view.bd:
        d = b.data
        rate, psnr = _signed(d.get("bd_rate_pct"), 2), _signed(d.get("bd_psnr_db"), 3)
        row = [b.item, b.entry.label, rate or t.na(d.get("reason"))]
        if has_db:
            row.append(psnr or t.na(d.get("bd_psnr_reason") or d.get("reason")))
        row += [_overlap(d) or t.na(d.get("reason")), f"{d.get('n_anchor', DASH)}/{d.get('n_test', DASH)}"]
        t.rows.append(row)
        if rate:
            won = wins.setdefault(b.entry.label, [0, 0])
            won[0] += d["bd_rate_pct"] < 0
            won[1] += 1
    t.notes.append(
        "Each item's own RD curve: the method's values on that item at the rate points of its mean curve "
        "(a family: its frontier's); BD-rate by PCHIP as in the run's BD table; no CI (one item)."
    )
    if wins:
        t.notes.append(
            "Fewer bits than the anchor (BD-rate < 0): "
            + "; ".join(f"{label} on {w} of {n} items" for label, (w, n) in wins.items())
            + "."
        )
    hulled = sorted({b.entry.label for b in view.bd if b.data.get("hull")})
    if hulled:
        t.notes.append(f"On the Pareto frontier of each item's curve: {', '.join(hulled)}.")
    if view.left_out:
        t.notes.append(
            f"{len(view.items)} of {view.n_items} items shown (the first, in eval order); {view.left_out} left out, "
            "their values are in points.csv."
        )
    if view.no_values:
        t.notes.append(f"No per-item values (published curves): {', '.join(view.no_values)}.")
    return t


def start_table(comp: Comparison) -> Table | None:
    """Each wrapping sandwich against its untrained start (the codec method it wraps), with the
    run's flags: a trained member below where it started is shown, never left out."""
    t = Table(
        "vs_start",
        "Trained sandwich vs its untrained start (the same codec)",
        ["Run", "Method", "Start", "Metric", "BD-rate [%]", "95% CI", "BD-PSNR [dB]", "95% CI", "Flags"],
        "lllllrrrl",
    )
    for run in comp.runs:
        summary = run.summary
        for name, comp_ in (summary.get("vs_start") or {}).items():
            ms = summary["methods"].get(name)
            flags = " | ".join(ms.get("flags", []) if ms is not None else []) or "none"
            for e in comp_["bd"]:
                ci = e.get("ci95") or {}
                t.rows.append(
                    [
                        summary["run_id"],
                        name,
                        comp_["start"],
                        e["metric"],
                        _signed(e.get("bd_rate_pct"), 2) or t.na(e.get("reason")),
                        _ci(ci.get("bd_rate_pct"), 2) or DASH,
                        _signed(e.get("bd_psnr_db"), 3) or t.na(e.get("bd_psnr_reason") or e.get("reason")),
                        _ci(ci.get("bd_psnr_db"), 3) or DASH,
                        flags,
                    ]
                )
    if not t.rows:
        return None
    t.notes.append("The untrained sandwich reproduces its start bit for bit, so these figures are what training did.")
    return t


def _bd_cells(t: Table, r: BDRow, anchor_col: bool, has_db: bool) -> list[str]:
    d, ci = r.data, r.data.get("ci95") or {}
    cells = [r.entry.label, r.entry.role] + ([r.anchor.label] if anchor_col else [])
    rate, psnr = _signed(d.get("bd_rate_pct"), 2), _signed(d.get("bd_psnr_db"), 3)
    # a CI of a value that could not be computed fails for the same reason: say that one
    cells += [
        rate or t.na(d.get("reason")),
        _ci(ci.get("bd_rate_pct"), 2) or t.na(ci.get("reason") if rate else d.get("reason")),
    ]
    if has_db:
        cells += [
            psnr or t.na(d.get("bd_psnr_reason") or d.get("reason")),
            _ci(ci.get("bd_psnr_db"), 3)
            or t.na((ci.get("bd_psnr_reason") or ci.get("reason")) if psnr else d.get("bd_psnr_reason")),
        ]
    cells += [_overlap(d) or t.na(d.get("reason")), f"{d.get('n_anchor', DASH)}/{d.get('n_test', DASH)}"]
    return cells


def _timing(entry: Entry) -> tuple[str, str, str]:
    """Encode and decode ms per megapixel (total time / total pixels over every item x rate point of
    the method, or of a family's members), and how many rows that is."""
    names = {entry.method, *entry.run.members(entry.method)}
    rows = [
        p for p in entry.run.points if p.get("method") in names and isinstance(p.get("bpp"), float) and p["bpp"] > 0
    ]
    pixels = sum(8.0 * p["nbytes"] / p["bpp"] for p in rows)
    if not rows or pixels <= 0:
        return DASH, DASH, "0"
    out = []
    for key in ("encode_s", "decode_s"):
        vals = [p[key] for p in rows if isinstance(p.get(key), float)]
        out.append(f"{1e3 * sum(vals) / (pixels / 1e6):.1f}" if len(vals) == len(rows) else DASH)
    return out[0], out[1], str(len(rows))


def _count(v: Any) -> str:
    """470000 -> 470.00k; a missing or non-numeric value -> the dash."""
    if not isinstance(v, int | float) or isinstance(v, bool):
        return DASH
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{v / scale:.2f}{suffix}"
    return f"{v:g}"


def complexity_table(comp: Comparison) -> Table:
    """Learned networks' size and speed (``meta.complexity``) beside the codecs' measured times."""
    t = Table(
        "complexity",
        "Complexity",
        [
            "Method",
            "Role",
            "Params",
            "MACs/pixel",
            "CPU fps (1024²)",
            "GPU fps (1024²)",
            "Encode [ms/Mpx]",
            "Decode [ms/Mpx]",
        ],
        "llrrrrrr",
    )
    counts = []
    for e in comp.entries.values():
        if e.kind != "measured":
            continue
        cx = e.run.complexity(e.method)
        enc, dec, n = _timing(e)
        counts.append(n)
        t.rows.append(
            [
                e.label,
                e.role,
                _count(cx.get("params")),
                _count(cx.get("macs_per_pixel")),
                _count(cx.get("fps_cpu")),
                _count(cx.get("fps_gpu")),
                enc,
                dec,
            ]
        )
    hosts = sorted({r.environment.get("host", "?") for r in comp.runs})
    t.notes.append(
        f"Encode/decode: wall-clock time per megapixel as each method recorded it (encode_s, decode_s), "
        f"total over all items x rate points ({'/'.join(sorted(set(counts)))} per method) on host "
        f"{', '.join(hosts)}. "
        f"Params and MACs/pixel: each learned method's networks as its run recorded them (meta.complexity; a "
        "sandwich: f + g, MACs per source pixel; a CompressAI codec: its largest per-quality model, convolutions "
        f"only); fps where it was measured. {DASH}: the method has no network, or its run did not record the value."
    )
    return t


def runs_table(comp: Comparison) -> Table:
    """Which runs the report shows and where each came from."""
    merged = comp.merged
    t = Table(
        "runs",
        "Runs",
        (["Tag"] if merged else [])
        + ["Experiment / run", "Scenario", "Dataset", "Items", "Anchor", "Git", "MLflow run", "Source"],
        ("l" if merged else "") + "lllrllll",
    )
    for r in comp.runs:
        s = r.summary
        items = len({p["item"] for p in r.points}) or DASH
        t.rows.append(
            ([r.tag] if merged else [])
            + [
                r.name + (f" (profile {s['profile']})" if s.get("profile") else ""),
                s["scenario"],
                str(s["dataset"]),
                str(items),
                comp.entry_of(r, s["anchor"]).label,
                str(s.get("git_sha") or DASH)[:12],
                r.mlflow_run_id or DASH,
                "run folder" if r.local else "MLflow artifacts",
            ]
        )
    return t


# ---- renderers -------------------------------------------------------------------------------


def all_notes(t: Table) -> list[str]:
    return t.notes + [f"({i}) {r}" for i, r in enumerate(t.reasons, 1)]


def to_markdown(t: Table) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    sep = ["---:" if a == "r" else "---" for a in t.align]
    lines = [f"**{esc(t.title)}**", "", "| " + " | ".join(map(esc, t.columns)) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(map(esc, row)) + " |" for row in t.rows]
    notes = all_notes(t)
    return "\n".join(lines + ([""] + [f"<sub>{esc(n)}</sub><br>" for n in notes] if notes else [])) + "\n"


def to_html(t: Table) -> str:
    e = html.escape
    cls = {"l": "", "r": ' class="num"'}
    head = "".join(f"<th{cls[a]}>{e(c)}</th>" for c, a in zip(t.columns, t.align, strict=False))
    body = "".join(
        "<tr>" + "".join(f"<td{cls[a]}>{e(c)}</td>" for c, a in zip(row, t.align, strict=False)) + "</tr>"
        for row in t.rows
    )
    notes = "".join(f"<li>{e(n)}</li>" for n in all_notes(t))
    return (
        f'<table id="{e(t.key)}"><caption>{e(t.title)}</caption><thead><tr>{head}</tr></thead>'
        f'<tbody>{body}</tbody></table><ul class="notes">{notes}</ul>\n'
    )


_TEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "²": r"\textsuperscript{2}",
    DASH: "---",
}


def tex_escape(s: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in s)


def to_latex(t: Table) -> str:
    """A booktabs ``table`` float; notes under it in a small paragraph."""
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        rf"\caption{{{tex_escape(t.title)}}}",
        rf"\label{{tab:{t.key}}}",
        rf"\begin{{tabular}}{{{t.align}}}",
        r"\toprule",
        " & ".join(tex_escape(c) for c in t.columns) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(tex_escape(c) for c in row) + r" \\" for row in t.rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    notes = all_notes(t)
    if notes:
        lines.append(r"\par\smallskip\parbox{\linewidth}{\footnotesize " + r" \\ ".join(map(tex_escape, notes)) + "}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"
