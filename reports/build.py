"""Build a report from loaded runs: compare -> tables, summary, figures, visuals, training curves
-> the chosen formats, written to a temporary sibling folder and moved into place at the end, so
a failed build never leaves a half-written report that looks finished.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.io_utils import write_json_atomic
from bench.records import headline_of
from reports import html, latex, markdown, mlflow_io, pdf
from reports.compare import Comparison, compare
from reports.content import Content
from reports.figures import per_item_figures, rd_figures, training_figures
from reports.items import MAX_PANELS, PerItem, per_item
from reports.load import RunData
from reports.narrative import paragraphs
from reports.tables import Table, all_notes, bd_table, complexity_table, per_item_table, runs_table, start_table
from reports.visual import run_panels

FORMATS = ("html", "md", "tex", "pdf")
MARKER = "report.json"  # present in every report folder; only such a folder is ever replaced


@dataclass(frozen=True)
class BuildOptions:
    formats: tuple[str, ...] = ("html", "md", "tex")
    items: tuple[str, ...] = ()
    target_bpp: float = 0.5
    crop: int = 256
    visual_limit: int = 2
    rates: tuple[float, ...] | None = None
    training: bool = True
    item_panels: int = MAX_PANELS  # per-item figure: at most this many items (panels) per run
    log: bool = True


@dataclass(frozen=True)
class Built:
    out: Path
    files: dict[str, Path]
    seconds: float
    logged: list[str] = field(default_factory=list)  # "run id: artifact path"


def parse_formats(text: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    bad = [f for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise BenchError(f"--format: unknown format(s) {', '.join(bad) or '(none)'}; choose from: {', '.join(FORMATS)}")
    return chosen


def title(comp: Comparison) -> str:
    if not comp.merged:
        r = comp.runs[0]
        return f"{r.summary['experiment']}: run {r.summary['run_id']}"
    names = " + ".join(dict.fromkeys(r.summary["experiment"] for r in comp.runs))
    return f"{names}: {len(comp.runs)} runs ({', '.join(r.tag for r in comp.runs)})"


def _check_out(out: Path) -> None:
    if out.exists() and not (out / MARKER).is_file():
        raise BenchError(f"--out {out} exists and is not a report folder (no {MARKER}); choose a new folder")


def _table_json(t: Table) -> dict[str, Any]:
    return {"title": t.title, "columns": t.columns, "rows": t.rows, "notes": all_notes(t)}


def _machine_readable(c: Content) -> dict[str, Any]:
    """report.json: what the tables show, with the unformatted summary values behind them."""
    return {
        "title": c.title,
        "runs": [
            {
                "tag": r.tag,
                "name": r.name,
                "mlflow_run_id": r.mlflow_run_id,
                "tracking_uri": r.tracking_uri,
                "folder": str(r.root) if r.local else None,
                "local": r.local,
            }
            for r in c.comp.runs
        ],
        "entries": [
            {"key": e.key, "label": e.label, "role": e.role, "kind": e.kind, "run": e.run.name}
            for e in c.comp.entries.values()
        ],
        "bd": [
            {"run": r.run.name, "entry": r.entry.key, "label": r.entry.label, "anchor": r.anchor.key, **r.data}
            for r in c.comp.bd_rows
        ],
        "headline": c.comp.headline,
        "tables": {t.key: _table_json(t) for t in c.tables()},
        "summary": c.paragraphs,
    }


def _training(comp: Comparison, folder: Path) -> tuple[list[Any], str | None]:
    histories = {r.tag or r.name: h for r in comp.runs if (h := mlflow_io.metric_histories(r))}
    if not histories:
        return [], (
            "No training curves: no metric of the parent or child MLflow runs was logged at more "
            "than one step (no learned method trained in these runs, or the tracking store is not reachable)."
        )
    return training_figures(histories, folder), None


def build(runs: list[RunData], out: Path, opts: BuildOptions) -> Built:
    """Write the report for ``runs`` into ``out`` (replacing an earlier report there)."""
    t0 = time.perf_counter()
    out = Path(out)
    _check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}")
    tmp.mkdir()  # with the process umask: mkdtemp's 0700 would become the report folder's mode
    try:
        comp = compare(runs)
        start = start_table(comp)
        views, notes = _per_item_views(comp, opts.item_panels)
        c = Content(
            title(comp),
            comp,
            paragraphs(comp, opts.rates),
            runs_table(comp),
            [],
            [bd_table(comp, m) for m in comp.metrics if m != comp.headline] + ([start] if start else []),
            complexity_table(comp),
            headline=bd_table(comp, comp.headline),
            per_item_tables=[per_item_table(v) for v in views],
            per_item_notes=notes,
        )
        c.rd = rd_figures(comp, tmp / "figures")
        c.per_item = per_item_figures(comp, views, tmp / "figures")
        for run in comp.runs:
            panels, notes = run_panels(
                comp, run, tmp / "visual", list(opts.items) or None, opts.target_bpp, opts.crop, opts.visual_limit
            )
            c.visuals += panels
            c.visual_notes += notes
        if opts.training:
            c.training, c.training_note = _training(comp, tmp / "figures")
        else:
            c.training_note = "Training curves skipped (--no-training)."
        files = _write_formats(c, tmp, opts.formats)
        write_json_atomic(tmp / MARKER, _machine_readable(c))
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    files = {k: out / v.relative_to(tmp) for k, v in files.items()}
    logged = _log(comp, out) if opts.log else []
    return Built(out, files, time.perf_counter() - t0, logged)


def _per_item_views(comp: Comparison, limit: int) -> tuple[list[PerItem], list[str]]:
    """Each run's headline metric item by item, and a line for each run that has no per-item values."""
    views, notes = [], []
    for run in comp.runs:
        view = per_item(comp, run, headline_of(run.summary), limit)
        name = f"run {run.tag}" if run.tag else run.name
        if not view.items:
            notes.append(f"No per-item curves for {name}: its points.csv holds no rows.")
        elif not any(view.curves.values()):
            notes.append(f"No per-item curves for {name}: no method has per-item values in points.csv.")
        else:
            views.append(view)
    return views, notes


def _write_formats(c: Content, tmp: Path, formats: tuple[str, ...]) -> dict[str, Path]:
    files: dict[str, Path] = {}
    if "html" in formats:
        files["html"] = tmp / "index.html"
        files["html"].write_text(html.render(c, tmp), encoding="utf-8")
    if "md" in formats:
        files["md"] = tmp / "report.md"
        files["md"].write_text(markdown.render(c, tmp), encoding="utf-8")
    if "tex" in formats:
        latex.write_tables(c.tables(), tmp / "tables")
        files["tex"] = tmp / "report.tex"
        files["tex"].write_text(latex.render(c, tmp), encoding="utf-8")
    if "pdf" in formats:
        files["pdf"] = pdf.render(c, tmp / "report.pdf")
    return files


def _log(comp: Comparison, out: Path) -> list[str]:
    """The report folder under each contributing parent run: ``report`` or ``report-merged/<name>``."""
    path = "report" if not comp.merged else f"report-merged/{out.name}"
    done = []
    for r in comp.runs:
        mlflow_io.log_report(r, out, path)
        done.append(f"{r.mlflow_run_id}: {path}")
    return done


def describe(built: Built) -> str:
    lines = [f"report: {built.out} ({built.seconds:.1f} s)"]
    lines += [f"  {k}: {v}" for k, v in built.files.items()]
    lines += [f"  logged to MLflow run {x}" for x in built.logged]
    return "\n".join(lines)
