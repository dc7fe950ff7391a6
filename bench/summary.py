"""The end of a run: per-method results JSON, points.csv, RD plots, BD table, summary.json.

Everything is derived from the finished cells (and published curves), so a report can always be
rebuilt from the run folder. ``summary.json`` is written last: its presence marks a complete run.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench import plots
from bench.bd_tracking import MISSING, bd_metrics_and_tags
from bench.errors import BenchError
from bench.io_utils import write_json_atomic
from bench.method import Method
from bench.metrics import bd_axis
from bench.plan import Plan
from bench.provenance import git_sha
from bench.proxy_fidelity import cells_summary
from bench.rd import bd, bootstrap_bd, pareto_front
from bench.records import BDEntry, Cell, MethodSummary, Summary, headline_first, headline_of
from bench.results import (
    aggregate,
    cell_means,
    per_item_matrix,
    points_csv,
    results_document,
    write_points,
    write_results,
)
from bench.scenarios import reference_lines
from bench.tracking import Tracker, mlflow_key


@dataclass
class Curve:
    """One line of the RD plots and BD table: a measured method (its cells), a family (the Pareto frontier of
    its members' cells, members kept apart) or a published curve (no cells)."""

    label: str
    role: str
    kind: str  # measured or published
    rd: dict[str, list[float]]
    cells: list[Cell] | None
    meta: dict[str, Any]
    members: dict[str, Curve] | None = None


def _family_frontier(plan: Plan, group: list[tuple[Method, list[Cell]]]) -> list[Cell]:
    """The cells on the Pareto frontier of all members' mean (bpp, headline metric) points, by bpp: a family
    is judged on the metric the experiment declares it is judged on (default the first)."""
    cells = [c for _, member_cells in group for c in member_cells]
    key = plan.headline
    higher, _ = bd_axis(key)
    means = [cell_means(c, [key], plan.rate_keys) for c in cells]
    quality = np.array([m[key] for m in means]) * (1 if higher else -1)
    idx = pareto_front(np.array([m[plan.rate_key] for m in means]), quality)
    return [cells[i] for i in idx]


def _described(m: Method) -> dict[str, Any]:
    """The method's results ``meta``: its description, plus its network's size for a learned method (the report's
    complexity table). Kept out of the cells' meta, which decides their reuse."""
    cx = m.complexity()
    return {**m.describe(), **({"complexity": cx} if cx else {})}


def _method_curves(plan: Plan, cells: list[Cell]) -> dict[str, Curve]:
    """Plain methods, families (Pareto over their members, one per lambda), then the published curves."""
    out: dict[str, Curve] = {}
    families: dict[str, list[tuple[Method, list[Cell]]]] = {}
    for m in plan.methods:
        mine = sorted((c for c in cells if c.method == m.name), key=lambda c: c.rate_point)
        if m.family:  # a seeds grid: one family curve per seed
            families.setdefault(m.family if m.seed is None else f"{m.family}.s{m.seed}", []).append((m, mine))
            continue
        out[m.name] = Curve(
            m.label, m.role, "measured", aggregate(mine, plan.metrics, plan.rate_keys), mine, _described(m)
        )
    for fam, group in families.items():
        chosen = _family_frontier(plan, group)
        first = group[0][0]
        cfg = next(mc for mc in plan.cfg.methods if mc.name == first.family)
        role = first.role
        members = {
            m.name: Curve(m.name, role, "measured", aggregate(mc, plan.metrics, plan.rate_keys), mc, _described(m))
            for m, mc in group
        }
        out[fam] = Curve(
            (cfg.label or cfg.name) + ("" if first.seed is None else f", seed {first.seed}"),
            role,
            "measured",
            aggregate(chosen, plan.metrics, plan.rate_keys),
            chosen,
            {
                "frontier": [{"member": c.method, "rate_point": c.rate_point} for c in chosen],
                "frontier_metric": plan.headline,
                "members": list(members),
            },
            members,
        )
    for ref in plan.references:
        rd = {"bpp": ref.results["bpp"], **{k: v for k, v in ref.results.items() if k != "bpp"}}
        out[ref.name] = Curve(ref.label, "reference", "published", rd, None, ref.describe())
    return out


def bd_entries(
    plan: Plan,
    curves: dict[str, Curve],
    anchor: str | None = None,
    only: list[str] | None = None,
    items: list[str] | None = None,
) -> list[BDEntry]:
    """One entry per (method, metric) against the anchor (default: the experiment's), with a paired
    bootstrap CI over items (default: all); ``only`` restricts the methods compared."""
    anchor = anchor or plan.cfg.anchor_name()
    a = curves[anchor]
    items = items or [it.name for it in plan.eval_set.items]
    rate = plan.rate_key
    entries = []
    for name, t in curves.items():
        if name == anchor or (only is not None and name not in only):
            continue
        for metric in headline_first(plan.metrics, plan.headline):
            entry = BDEntry(
                method=name,
                role=t.role,
                anchor=anchor,
                metric=metric,
                bd_rate_pct=None,
                bd_psnr_db=None,
                ci95={"bd_rate_pct": None, "bd_psnr_db": None},
                overlap=None,
            )
            missing = next(
                (f"metric {metric!r} missing from {n}" for n, c in ((name, t), (anchor, a)) if metric not in c.rd), None
            )
            missing = missing or next(
                (f"no {rate} rates for {n}" for n, c in ((name, t), (anchor, a)) if rate not in c.rd), None
            )
            if missing:
                entry["reason"] = missing
                entries.append(entry)
                continue
            higher, is_db = bd_axis(metric)
            hull = t.members is not None or a.members is not None  # a family's union of models: use its frontier
            res = bd(
                a.rd[rate], a.rd[metric], t.rd[rate], t.rd[metric], higher_is_better=higher, is_db=is_db, hull=hull
            )
            entry["hull"] = hull
            # to_dict() gives BDResult's fields (all BDEntry keys) as dict[str, Any]: mypy cannot match a TypedDict
            entry.update(res.to_dict())  # type: ignore[typeddict-item]
            if a.cells is not None and t.cells is not None and plan.cfg.evaluation.bootstrap > 0:
                ci = bootstrap_bd(
                    per_item_matrix(a.cells, rate, items),
                    per_item_matrix(a.cells, metric, items),
                    per_item_matrix(t.cells, rate, items),
                    per_item_matrix(t.cells, metric, items),
                    n_boot=plan.cfg.evaluation.bootstrap,
                    seed=plan.cfg.seed,
                    higher_is_better=higher,
                    is_db=is_db,
                    hull=hull,
                ).to_dict()
                entry["ci95"] = {
                    "bd_rate_pct": ci["bd_rate_ci"],
                    "bd_psnr_db": ci["bd_psnr_ci"],
                    "n_boot": ci["n_boot"],
                    "reason": ci["reason"],
                }
            else:
                entry["ci95"] = {
                    "bd_rate_pct": None,
                    "bd_psnr_db": None,
                    "reason": "no per-item values (published curve)"
                    if plan.cfg.evaluation.bootstrap
                    else "bootstrap disabled (evaluation.bootstrap: 0)",
                }
            entries.append(entry)
    return entries


def _worse_than(entry: BDEntry) -> str | None:
    """How an entry shows the method below its comparison (None: it is not, or cannot be compared)."""
    higher, is_db = bd_axis(entry["metric"])
    ci = entry.get("ci95") or {}
    psnr, rate = entry.get("bd_psnr_db"), entry.get("bd_rate_pct")
    if is_db and psnr is not None and psnr < 0:
        lo_hi = ci.get("bd_psnr_db")
        return f"BD-{entry['metric']} {psnr:+.3f} dB" + (f" [{lo_hi[0]:+.3f}, {lo_hi[1]:+.3f}]" if lo_hi else "")
    if not is_db and rate is not None and rate > 0:
        lo_hi = ci.get("bd_rate_pct")
        return f"BD-rate on {entry['metric']} {rate:+.2f} %" + (f" [{lo_hi[0]:+.2f}, {lo_hi[1]:+.2f}]" if lo_hi else "")
    return None


def start_comparisons(plan: Plan, curves: dict[str, Curve]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Every wrapping sandwich against its own untrained start (the codec method it wraps, which the
    untrained sandwich reproduces bit for bit), and the flags of those that ended below it."""
    out: dict[str, Any] = {}
    flags: dict[str, list[str]] = {}
    for mc in plan.cfg.methods:
        wraps = getattr(mc, "wraps", None)
        if not wraps or wraps not in curves:
            continue
        for name in family_curves(plan, mc.name, curves):
            entries = bd_entries(plan, curves, anchor=wraps, only=[name])
            out[name] = {"start": wraps, "bd": entries}
            worse = [w for w in (_worse_than(e) for e in entries if e["metric"] == plan.headline) if w]
            if worse:
                flags[name] = [
                    f"below its untrained start ({wraps}, the same codec): {worse[0]}; a trained "
                    "member that ends below where it started is a bug to find, not a result"
                ]
    return out, flags


def family_curves(plan: Plan, name: str, curves: Collection[str]) -> list[str]:
    """The curves of the config method ``name``: itself, or with a seeds grid one per seed of a sandwich."""
    if name in curves:
        return [name]
    return [f"{name}.s{seed}" for seed in plan.cfg.seeds or () if f"{name}.s{seed}" in curves]


def group_comparisons(plan: Plan, curves: dict[str, Curve]) -> dict[str, Any]:
    """BD against the anchor on each item group of the eval set alone (e.g. highbit's core and hard)."""
    out = {}
    for group, names in plan.eval_set.groups.items():
        keep = set(names)
        sub = {}
        for name, c in curves.items():
            if c.cells is None:
                continue
            cells = [cell.only(keep) for cell in c.cells]
            sub[name] = replace(c, cells=cells, rd=aggregate(cells, plan.metrics, plan.rate_keys))
        out[group] = {"items": list(names), "bd": bd_entries(plan, sub, items=list(names))}
    return out


def conventional_comparisons(plan: Plan, curves: dict[str, Curve]) -> dict[str, list[BDEntry]]:
    """Each sandwich family against every conventional codec method of the file (the strongest included)."""
    sandwiches = [n for mc in plan.cfg.methods if mc.kind == "sandwich" for n in family_curves(plan, mc.name, curves)]
    codecs = [mc.name for mc in plan.cfg.methods if mc.kind == "codec" and mc.name != plan.cfg.anchor_name()]
    return {c: bd_entries(plan, curves, anchor=c, only=sandwiches) for c in codecs if sandwiches}


def pair_comparisons(plan: Plan, curves: dict[str, Curve]) -> dict[str, list[BDEntry]]:
    """``evaluation.compare``: each named method (every seed's curve of it) against the method named for it,
    on the same items with the same paired bootstrap as against the anchor."""
    out: dict[str, list[BDEntry]] = {}
    for name, other in (plan.cfg.evaluation.compare or {}).items():
        for theirs in family_curves(plan, other, curves):
            for mine in family_curves(plan, name, curves):
                out.setdefault(mine, []).extend(bd_entries(plan, curves, anchor=theirs, only=[mine]))
    return out


def compare_finished(run_dir: Path, method: str, other: str) -> list[BDEntry]:
    """``bench compare``: ``evaluation.compare`` after the fact, on a finished run's own cells (nothing is
    encoded again): the run's resolved config rebuilt into its plan, every cell read back from the run."""
    from bench.config import load_config
    from bench.plan import build_plan
    from bench.results import cell_path, load_cell

    if not (run_dir / "summary.json").is_file():
        raise BenchError(f"{run_dir} is not a finished run (no summary.json); run it to the end first")
    plan = build_plan(load_config(run_dir / "config.yaml"))
    cells = [c for m in plan.methods for rp in m.rate_points() if (c := load_cell(cell_path(run_dir, m.name, rp)))]
    curves = _method_curves(plan, cells)
    have = ", ".join(n for n, c in curves.items() if c.cells is not None)
    for name in (method, other):
        if not family_curves(plan, name, curves):
            raise BenchError(f"{run_dir} has no measured method {name!r}; it has: {have}")
    mine = family_curves(plan, method, curves)
    return [e for theirs in family_curves(plan, other, curves) for e in bd_entries(plan, curves, theirs, mine)]


def finalize(plan: Plan, run_dir: Path, cells: list[Cell], tracker: Tracker, parent: str) -> Summary:
    cfg = plan.cfg
    curves = _method_curves(plan, cells)
    dataset = plan.eval_set.name
    common_meta = {
        "config_hash": cfg.config_hash(),
        "git_sha": git_sha(),
        "seed": cfg.seed,
        "scenario": cfg.scenario,
        "dataset": dataset,
        "n_items": len(plan.eval_set.items),
        "eval_manifest_sha256": plan.eval_set.manifest_hash(),
        "mlflow_run_id": parent,
    }
    for name, c in curves.items():
        if c.cells is None:
            continue
        meta = {**common_meta, **c.meta, "role": c.role, "commands": [cell.command for cell in c.cells]}
        doc = results_document(name, plan_description(plan, name), c.rd, meta)
        write_results(run_dir / "results" / dataset / f"{name}.json", doc)
        for member, mc in (c.members or {}).items():
            doc = results_document(
                member, f"{name}: one lambda model, all swept steps", mc.rd, {**common_meta, **mc.meta, "role": c.role}
            )
            write_results(run_dir / "results" / dataset / "members" / f"{member}.json", doc)
    write_points(run_dir / "points.csv", points_csv(cells, [*(k for k in plan.rate_keys if k != "bpp"), *plan.metrics]))

    plot_methods = {n: {"label": c.label, "role": c.role, "rd": c.rd} for n, c in curves.items()}
    lines = reference_lines(plan.scenario, plan.metrics, plan.measured_depths)
    (run_dir / "plots").mkdir(exist_ok=True)
    for metric in plan.metrics:
        fig = plots.rd_figure(
            plot_methods,
            metric,
            f"{cfg.name}: {plots.metric_name(metric)} on {dataset}",
            plots.rate_label(plan.rate_key),
            rate_key=plan.rate_key,
            lines=lines.get(metric, ()),
        )
        fig.savefig(run_dir / "plots" / f"rd_{metric}.png")
        tracker.log_figure(parent, fig, f"plots/rd_{metric}.png")
        plots.close(fig)

    entries = bd_entries(plan, curves)
    vs_start, start_flags = start_comparisons(plan, curves)
    for name, fl in start_flags.items():
        for f in fl:
            print(f"[bench] WARNING {name}: {f}", file=sys.stderr)
        tracker.set_tags(parent, {mlflow_key("flags", name): " | ".join(fl)})
    summary = Summary(
        experiment=cfg.name,
        run_id=run_dir.name,
        scenario=cfg.scenario,
        dataset=dataset,
        profile=cfg.profile,
        anchor=cfg.anchor_name(),
        metrics=plan.metrics,
        headline=plan.headline,
        mlflow_run_id=parent,
        git_sha=git_sha(),
        config_hash=cfg.config_hash(),
        methods={n: _method_summary(c, start_flags.get(n, [])) for n, c in curves.items()},
        bd=entries,
    )
    if plan.video:
        summary["rate"] = "kbps"
    if lines:
        summary["reference_lines"] = lines
    if vs_start:
        summary["vs_start"] = vs_start
    versus = conventional_comparisons(plan, curves)
    if versus:
        summary["vs_codecs"] = versus
    if plan.eval_set.groups:
        summary["groups"] = group_comparisons(plan, curves)
    if cfg.evaluation.compare:
        summary["compare"] = pair_comparisons(plan, curves)
    if plan.cfg.seeds:
        summary["seeds"] = seed_spread(plan, entries)
    if plan.video:
        fidelity = cells_summary(cells)
        if fidelity:  # the training proxy against the real codec on what was evaluated
            summary["proxy_fidelity"] = fidelity
    bd_metrics, bd_reasons = bd_metrics_and_tags(entries)
    tracker.log_metrics(parent, bd_metrics)
    tracker.replace_tags(parent, f"{MISSING}.", bd_reasons)
    tracker.log_artifacts(parent, run_dir / "results", "results")
    tracker.log_artifact(parent, run_dir / "points.csv")
    tracker.log_artifacts(parent, run_dir / "plots", "plots")
    write_json_atomic(run_dir / "summary.json", summary)
    tracker.log_artifact(parent, run_dir / "summary.json")
    return summary


def seed_spread(plan: Plan, entries: list[BDEntry]) -> dict[str, Any]:
    """Per sandwich family and metric: each seed's BD against the anchor, their mean and sample standard
    deviation (how much of a BD figure is the training seed; None with fewer than two seeds measured)."""
    seeds = plan.cfg.seeds or []
    out: dict[str, Any] = {}
    for mc in plan.cfg.methods:
        names = {f"{mc.name}.s{s}": s for s in seeds}
        for metric in headline_first(plan.metrics, plan.headline):
            mine = [e for e in entries if e["method"] in names and e["metric"] == metric]
            if not mine:
                continue
            row: dict[str, Any] = {"seeds": [names[e["method"]] for e in mine]}
            for key in ("bd_rate_pct", "bd_psnr_db"):
                values = [e.get(key) for e in mine]
                row[key] = values
                known = np.array([v for v in values if v is not None], dtype=float)
                row[f"{key}_mean"] = float(known.mean()) if known.size else None
                row[f"{key}_std"] = float(known.std(ddof=1)) if known.size > 1 else None
            out.setdefault(mc.name, {})[metric] = row
    return out


def _spread_lines(summary: Summary) -> list[str]:
    """Per seeded family, on the headline metric: each BD figure's mean ± sd over seeds, and each seed's value."""
    headline = headline_of(summary)
    lines = []
    for family, per_metric in summary.get("seeds", {}).items():
        row = per_metric.get(headline)
        for key, what, unit in (("bd_rate_pct", "BD-rate", "%"), ("bd_psnr_db", "BD-quality", " dB")):
            if row is None or row[f"{key}_mean"] is None:
                continue
            sd = row[f"{key}_std"]
            pairs = zip(row["seeds"], row[key], strict=True)
            each = ", ".join(f"s{s}: {v:+.3f}{unit}" if v is not None else f"s{s}: -" for s, v in pairs)
            spread = f" ± {sd:.3f}" if sd is not None else ""
            lines.append(
                f"seeds {family}: {what} on {headline} {row[f'{key}_mean']:+.3f}{spread}{unit} "
                f"(mean ± sd over the seeds measured; {each})"
            )
    return lines


def value_ci(entry: BDEntry, key: str, unit: str, digits: int) -> str:
    """``-3.21% [-4.02, -2.10]``, the value alone without a CI, or ``-`` when there is none."""
    e: Mapping[str, Any] = entry  # read by key names below
    value, lo_hi = e.get(key), (e.get("ci95") or {}).get(key)
    if value is None:
        return "-"
    ci = f" [{lo_hi[0]:+.{digits}f}, {lo_hi[1]:+.{digits}f}]" if lo_hi and None not in lo_hi else ""
    return f"{value:+.{digits}f}{unit}{ci}"


def overlap_text(entry: BDEntry) -> str:
    e: Mapping[str, Any] = entry
    overlap, fraction = e.get("overlap"), e.get("overlap_fraction")
    if overlap and fraction is not None:
        return f"{overlap[0]:.4g} to {overlap[1]:.4g} ({100 * fraction:.0f}%)"
    return "-"


def aligned(rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell: plain text, readable in a log as on a terminal."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def console_lines(summary: Summary, run_dir: Path) -> list[str]:
    """What ``bench run`` prints on stderr when it ends: one table, a row per method and metric against the
    anchor (the headline metric's row first in each method: its BD-rate and BD-quality with their 95% CIs and
    the overlap are the first numbers a reader meets), each flag in full below it, then the next commands."""
    headline = headline_of(summary)
    order = headline_first(summary["metrics"], headline)
    rows = [["method", "metric", "BD-rate [95% CI]", "BD-quality [95% CI]", "overlap", "flags", "why n/a"]]
    flagged: list[str] = []
    methods = list(dict.fromkeys(e["method"] for e in summary["bd"]))
    for name in methods:
        described = summary["methods"].get(name)
        flags = described.get("flags", []) if described else []
        flagged += [f"  {name}: {f}" for f in flags]
        entries = sorted((e for e in summary["bd"] if e["method"] == name), key=lambda e: order.index(e["metric"]))
        for i, e in enumerate(entries):
            why = e.get("reason") or ""
            rows.append(
                [
                    name if i == 0 else "",
                    e["metric"] + (" (headline)" if e["metric"] == headline else ""),
                    value_ci(e, "bd_rate_pct", "%", 2),
                    value_ci(e, "bd_psnr_db", " dB", 3),
                    overlap_text(e),
                    f"{len(flags)} (see below)" if flags and i == 0 else "",
                    why,
                ]
            )
    lines = [
        f"results: BD against the anchor {summary['anchor']} on {summary['dataset']} (negative BD-rate: fewer bits; "
        "BD-quality: dB metrics only; 95% CI: paired bootstrap over items; overlap: the quality range both curves "
        "cover)",
        *(aligned(rows) if methods else ["no method besides the anchor"]),
    ]
    lines += _spread_lines(summary)
    lines += _compare_lines(summary)
    if flagged:
        lines += ["flags:", *flagged]
    return [
        *lines,
        f"next: bench report {run_dir}   (HTML, Markdown and LaTeX report)",
        f"      bench ui {run_dir}   (MLflow UI on this run's store)",
    ]


def _compare_lines(summary: Summary) -> list[str]:
    """``evaluation.compare``: the headline metric's BD of each method against the one named for it."""
    headline = headline_of(summary)
    lines = []
    for name, entries in (summary.get("compare") or {}).items():
        for e in entries:
            if e["metric"] == headline:
                lines.append(
                    f"  {name} vs {e['anchor']} ({headline}): BD-rate {value_ci(e, 'bd_rate_pct', '%', 2)}, "
                    f"BD-quality {value_ci(e, 'bd_psnr_db', ' dB', 3)}, overlap {overlap_text(e)}"
                    + (f" ({e['reason']})" if e.get("reason") else "")
                )
    return ["compared (evaluation.compare):", *lines] if lines else []


def _method_summary(c: Curve, start_flags: list[str]) -> MethodSummary:
    out = MethodSummary(label=c.label, role=c.role, kind=c.kind, rd=c.rd)
    if c.members is not None:
        out["members"] = {k: v.rd for k, v in c.members.items()}
        out["flags"] = [f for v in c.members.values() for f in v.meta.get("flags", [])] + start_flags
    return out


def plan_description(plan: Plan, name: str) -> str:
    cfg = next(m for m in plan.cfg.methods if name in family_curves(plan, m.name, [name]))
    return cfg.description or f"{name} on {plan.eval_set.name} ({plan.cfg.name})"
