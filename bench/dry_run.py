"""``bench run --dry-run``: what a run would do, read from its plan alone.

Why: a full profile can mean hours of training; before starting it a reader wants the cells, the
models that would be trained or reused, and a rough time. Nothing is trained, encoded or written:
no run folder, no MLflow store (the plan reads the eval items, as a run checks them first).
"""

from __future__ import annotations

from pathlib import Path

from bench.config import load_config
from bench.estimate import cell_seconds, training_estimate, trains
from bench.plan import build_plan
from bench.progress import duration
from bench.runner import RunOptions, SilentLog, prepare_context, resolve_device, with_max_items


def dry_run(config_path: Path, opts: RunOptions) -> list[str]:
    """The lines ``bench run --dry-run`` prints."""
    cfg = with_max_items(load_config(config_path, opts.profile), opts.max_items)
    device = resolve_device(opts.device)
    plan = build_plan(cfg)
    out = Path(opts.out)
    run_dir = (out / cfg.name / cfg.config_hash()[:12]).resolve()
    items = plan.eval_set.items
    on_disk = len(list(run_dir.glob("cells/*/*.json")))
    lines = [
        f"dry run of {config_path}"
        + (f" (profile {cfg.profile})" if cfg.profile else "")
        + ": nothing is trained, encoded or written",
        f"run folder: {run_dir} "
        + (f"(exists: {on_disk} finished cells, each reused if still valid)" if run_dir.is_dir() else "(not created)"),
        f"eval: {plan.eval_set.name}, {len(items)} items; metrics {', '.join(plan.metrics)} (headline "
        f"{plan.headline}); anchor {cfg.anchor_name()}",
    ]
    n_cells = sum(len(m.rate_points()) for m in plan.methods)
    lines.append(f"cells: {n_cells} (method x rate point), each over the {len(items)} items")
    cell_s = 0.0
    for m in plan.methods:
        per_cell = cell_seconds(plan, m)
        cell_s += per_cell * len(m.rate_points())
        lines.append(f"  {m.name}: {len(m.rate_points())} rate points, about {duration(per_cell)} per cell")
    lines.append("trainings:" if any(trains(m) for m in plan.methods) else "trainings: none")
    train_s, steps = 0.0, 0
    for m in filter(trains, plan.methods):
        ctx = prepare_context(plan, run_dir, out, device, SilentLog(), m)
        est = training_estimate(plan, m, m.training_plan(ctx), ctx.workdir)
        train_s, steps = train_s + est.seconds, steps + est.steps
        if not est.plans:
            lines.append(f"  {m.name}: nothing to train (loads its weights)")
        for p in est.plans:
            what = (
                "reuse"
                if p.reused
                else f"train {p.steps} steps" + (f" from step {p.resumes_at}" if p.resumes_at else "")
            )
            known = (
                ""
                if est.known
                else f" (its method reports no training plan: counted as {p.steps} steps from the start)"
            )
            lines.append(f"  {m.name}: {what} -> {p.model}{known}")
    lines.append(
        f"estimate: training {duration(train_s)} ({steps} steps), evaluation {duration(cell_s)} ({n_cells} cells x "
        f"{len(items)} items), about {duration(train_s + cell_s)} in all on {device}; an estimate from constants "
        "measured on a 2-core CPU (bench/estimate.py), good to a factor of 2-3"
    )
    return lines
