"""``bench run``: plan -> (train) -> evaluate every cell through the real codec -> aggregate -> track.

The run folder is ``<out>/<experiment>/<run_id>`` where ``run_id`` is derived from the resolved
config, so re-running the same experiment finds its folder and resumes: a finished cell (one JSON
each) is reused when what it was computed from is unchanged (``bench.reuse``: item contents, metric
set, the method's description and code), otherwise recomputed with one line saying why.
``summary.json`` is written last and only when every cell is done; its presence is what "this run
is complete" means. It describes the cells on disk, so it is removed just before the first cell is
written, never earlier: a re-run that fails before that (a bad tracking URI, a plan error) leaves
the finished run as it was.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import yaml

from bench import progress
from bench.config import ExperimentConfig, load_config
from bench.errors import BenchError
from bench.estimate import cell_seconds, training_estimate, trains
from bench.evaluate import evaluate_cell
from bench.interrupts import Terminated
from bench.io_utils import disk_error, write_json_atomic, write_text_atomic
from bench.locks import RUN_LOCK, run_folder_lock
from bench.method import Method, PrepareContext, RunLog
from bench.plan import Plan, build_plan
from bench.provenance import environment, git_sha
from bench.records import Cell
from bench.results import cell_path, load_cell, rate_key, save_cell
from bench.reuse import EVAL_CODE, array_digest, cell_changes, cell_inputs, item_digests, source_digests
from bench.summary import console_lines, finalize
from bench.tracking import NOTE_TAG, Tracker, default_tracking_uri, runs_url, ui_base

say = progress.say  # phase lines go to stderr; stdout's last line is reserved for the run folder


@dataclass(frozen=True)
class RunContext:
    """What an executor gets once the run folder is locked and the parent run is open."""

    plan: Plan
    run_dir: Path
    out: Path
    device: str  # resolved for the local executor; as asked (auto, cpu, cuda) for one whose workers resolve it
    tracker: Tracker
    parent: str
    config_path: Path


class Executor(Protocol):
    """Trains what the plan trains and returns every cell, saved and logged (``local`` in this process, or Ray)."""

    def __call__(self, run: RunContext) -> list[Cell]: ...


@dataclass(frozen=True)
class RunOptions:
    out: Path = Path("runs")
    tracking_uri: str | None = None
    device: str = "auto"
    max_items: int | None = None
    fresh: bool = False
    profile: str | None = None
    executor: Executor | None = None  # None: train and evaluate one after another in this process


def resolve_device(device: str) -> str:
    if device not in {"auto", "cpu", "cuda"}:
        raise BenchError(f"--device must be auto, cpu or cuda, got {device!r}")
    if device == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise BenchError("--device cuda was asked for but torch sees no CUDA device; use --device auto or cpu")
    return "cpu"


def with_max_items(cfg: ExperimentConfig, n: int | None) -> ExperimentConfig:
    if n is None:
        return cfg
    ev = cfg.data.eval.model_copy(update={"max_items": n})
    return cfg.model_copy(update={"data": cfg.data.model_copy(update={"eval": ev})})


class TrainRunLog:
    """A learned method's training curves go to their own child run, opened on first use."""

    def __init__(self, tracker: Tracker, parent: str, name: str, note: str = "") -> None:
        self.tracker, self.parent, self.name, self.note = tracker, parent, name, note
        self.run_id: str | None = None

    def opened(self) -> str:
        """The run's id, created (or a resumed training's reopened) on first use."""
        if self.run_id is None:
            old = [r.info.run_id for r in self.tracker.child_runs(self.parent) if r.info.run_name == self.name]
            if old:  # a resumed training continues its curves in the same child run
                self.tracker.reopen(old[0])
            tags = {"kind": "training", **({NOTE_TAG: self.note} if self.note else {})}
            self.run_id = old[0] if old else self.tracker.open_child(self.parent, self.name, tags)
        return self.run_id

    def metrics(self, values: dict[str, float], step: int) -> None:
        self.tracker.log_metrics(self.opened(), values, step)

    def tags(self, values: dict[str, str]) -> None:
        self.tracker.set_tags(self.opened(), values)

    def model(self, folder: Path) -> None:
        self.tracker.log_model(self.opened(), folder, self.name.removeprefix("train:"))

    def close(self, status: str = "FINISHED") -> None:
        if self.run_id is not None:
            self.tracker.end(self.run_id, status)


def prepare_context(plan: Plan, run_dir: Path, out: Path, device: str, log: RunLog, method: Method) -> PrepareContext:
    """What ``prepare`` (and ``training_plan``) of ``method`` gets in this run."""
    return PrepareContext(
        run_dir / "methods" / method.name,
        plan.train_set.items if plan.train_set else (),
        device,
        plan.cfg.seed if method.seed is None else method.seed,
        log,
        (out / "models").resolve(),
        plan.train_set.manifest_hash() if plan.train_set else "",
        out.resolve(),
    )


def _cell_metrics(cell: Cell, metrics: list[str]) -> dict[str, float]:
    """The cell's means over items, as its MLflow child run logs them (a metric missing on an item is skipped)."""
    rows = cell.rows
    out = {"bpp": sum(r.bpp for r in rows) / len(rows)}
    kbps = [r.kbps for r in rows if r.kbps is not None]
    if len(kbps) == len(rows):  # video: the real stream's bit rate
        out["kbps"] = sum(kbps) / len(rows)
    for k in metrics:
        vals = [v for r in rows if (v := r.values.get(k)) is not None]
        if vals:
            out[k] = sum(vals) / len(vals)
    out["encode_s"] = sum(r.encode_s for r in rows) / len(rows)
    return out


def _method_note(cfg: ExperimentConfig, method: Method) -> str:
    """A method's YAML ``description`` for its child runs' description; a family member has its family's."""
    notes = {mc.name: mc.description for mc in cfg.methods}
    return notes.get(method.name) or notes.get(method.family or "", "")


def _parent_note(plan: Plan) -> str:
    """The parent run's description: the YAML's, then what was run on what."""
    cfg = plan.cfg
    n = len(plan.eval_set.items)
    what = (
        f"Scenario {cfg.scenario}; eval set {plan.eval_set.name} ({n} item{'s' if n != 1 else ''}); anchor "
        f"{cfg.anchor_name()}; headline metric {plan.headline}; profile {cfg.profile or 'none'}."
    )
    return f"{cfg.description}\n\n{what}" if cfg.description else what


def _start(plan: Plan, run_dir: Path, tracker: Tracker) -> str:
    """Open the parent MLflow run, or reopen the one ``state.json`` names (its tags follow a moved folder)."""
    cfg = plan.cfg
    tags = {
        NOTE_TAG: _parent_note(plan),
        "scenario": cfg.scenario,
        "dataset": plan.eval_set.name,
        "git_sha": git_sha(),
        "config_hash": cfg.config_hash(),
        "experiment": cfg.name,
        "profile": cfg.profile or "",
        "run_dir": str(run_dir),
    }
    return tracker.start_parent(
        f"{cfg.name}-{run_dir.name}", tags, _read_json(run_dir / "state.json").get("mlflow_run_id")
    )


def _log_static(plan: Plan, run_dir: Path, tracker: Tracker, run_id: str, source_yaml: Path) -> None:
    """The run's config, environment and datasets, once per parent run.

    The params go last: their presence says the rest was logged, so a run that failed part-way
    through here logs it again when resumed.
    """
    cfg = plan.cfg
    if "methods" in tracker.params(run_id):
        return
    write_text_atomic(run_dir / "config.yaml", yaml.safe_dump(cfg.canonical(), sort_keys=False))
    shutil.copyfile(source_yaml, run_dir / "experiment.yaml")
    write_json_atomic(run_dir / "environment.json", environment())
    for f in ("config.yaml", "experiment.yaml", "environment.json"):
        tracker.log_artifact(run_id, run_dir / f, "config")
    for ds, context in ((plan.eval_set, "eval"), (plan.train_set, "train"), (plan.stills_set, "train_stills")):
        if ds is not None:
            tracker.log_dataset(run_id, ds.manifest(), ds.name, str(ds.root), ds.manifest_hash(), context)
    tracker.log_params(
        run_id,
        {
            "seed": cfg.seed,
            "scenario": cfg.scenario,
            "anchor": cfg.anchor_name(),
            "metrics": ",".join(plan.metrics),
            "n_eval_items": len(plan.eval_set.items),
            "eval_manifest_sha256": plan.eval_set.manifest_hash(),
            "methods": ",".join(m.name for m in cfg.methods),
        },
    )


def _read_json(path: Path) -> dict[str, Any]:
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def run_experiment(config_path: Path, opts: RunOptions) -> Path:
    """Run (or resume) one experiment; return its folder. All checks happen before any work.

    One process at a time per run folder (a second one is refused, naming the first's pid); a
    disk that refuses a write (full, read-only) ends as one error line wherever it happens.
    """
    cfg = with_max_items(load_config(config_path, opts.profile), opts.max_items)
    device = resolve_device(opts.device) if opts.executor is None else opts.device
    say(f"plan: checking {config_path} (scenario {cfg.scenario}, {len(cfg.methods)} methods)")
    plan = build_plan(cfg)
    run_dir = (Path(opts.out) / cfg.name / cfg.config_hash()[:12]).resolve()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        with run_folder_lock(run_dir, cfg.name), progress.run_display(_estimates(plan, run_dir, opts, device)):
            return _run_locked(plan, run_dir, opts, device, Path(config_path))
    except OSError as exc:
        err = disk_error(exc, Path(opts.out).resolve())
        if err is None:
            raise
        raise err from None


class SilentLog:
    """A :class:`RunLog` that keeps nothing: asking a method what it would train logs no curves."""

    def metrics(self, values: dict[str, float], step: int) -> None:
        """Nothing to log: no training runs."""

    def tags(self, values: dict[str, str]) -> None:
        """Nothing to tag: no training runs."""

    def model(self, folder: Path) -> None:
        """Nothing to log: no model is trained."""


def _estimates(plan: Plan, run_dir: Path, opts: RunOptions, device: str) -> dict[str, float]:
    """Estimated seconds per phase (``bench.estimate``), for the run's time left."""
    out = {}
    for m in filter(trains, plan.methods):
        ctx = prepare_context(plan, run_dir, Path(opts.out), "cpu" if device == "auto" else device, SilentLog(), m)
        out[f"train:{m.name}"] = training_estimate(plan, m, m.training_plan(ctx), ctx.workdir).seconds
    out["evaluate"] = sum(cell_seconds(plan, m) * len(m.rate_points()) for m in plan.methods)
    return out


def _run_locked(plan: Plan, run_dir: Path, opts: RunOptions, device: str, config_path: Path) -> Path:
    cfg = plan.cfg
    # The store opens before anything in the folder changes: a store that fails keeps the last summary.
    tracker = Tracker(
        opts.tracking_uri or default_tracking_uri(opts.out),
        cfg.name,
        artifact_root=Path(opts.out) / "mlartifacts" / cfg.name,
        description=cfg.description,
    )
    if opts.fresh:
        say(f"--fresh: removing what {run_dir} holds")
        for p in run_dir.iterdir():
            if p.is_dir():
                shutil.rmtree(p)
            elif p.name != RUN_LOCK:
                p.unlink()
    parent = _start(plan, run_dir, tracker)
    state = {"mlflow_run_id": parent, "tracking_uri": tracker.uri}
    try:
        write_json_atomic(run_dir / "state.json", {**state, "status": "running", "started": time.time()})
        _log_static(plan, run_dir, tracker, parent, config_path)
        execute = opts.executor or run_local
        cells = execute(RunContext(plan, run_dir, Path(opts.out), device, tracker, parent, config_path))
        say("aggregate: results, points.csv, plots, summary")
        summary = finalize(plan, run_dir, cells, tracker, parent)
        tracker.end(parent, "FINISHED")
        write_json_atomic(run_dir / "state.json", {**state, "status": "complete"})
    except BaseException as exc:
        status = _ended(exc)
        _record_end(
            lambda: tracker.end(parent, status),
            lambda: write_json_atomic(
                run_dir / "state.json", {**state, "status": "interrupted" if status == "KILLED" else "failed"}
            ),
        )
        if status == "KILLED":
            how = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
            say(f"{how}: finished cells are kept in {run_dir}/cells; re-run the same command to resume")
        raise
    for line in console_lines(summary, run_dir):  # the run is complete; what it found, the headline metric first
        say(line)
    served = "" if tracker.uri.startswith(("http://", "https://")) else f" (serve it with: bench ui {run_dir})"
    say(f"MLflow: {runs_url(ui_base(tracker.uri), tracker.experiment_id, parent)}{served}")
    return run_dir


def run_local(run: RunContext) -> list[Cell]:
    """The local executor: every training, then every cell, one after another in this process."""
    plan = run.plan
    trainers = [m for m in plan.methods if trains(m)]
    for k, m in enumerate(trainers, 1):
        log = train_log(run, m)
        progress.phase(f"train:{m.name}", f"train {k}/{len(trainers)}: {m.name}")
        try:
            m.prepare(prepare_context(plan, run.run_dir, run.out, run.device, log, m))
        except BaseException as exc:
            ended = _ended(exc)
            _record_end(partial(log.close, ended))
            raise
        log.close()
    return _evaluate_all(plan, run.run_dir, run.tracker, run.parent)


def train_log(run: RunContext, m: Method) -> TrainRunLog:
    """The training child run of ``m`` (opened on first use)."""
    return TrainRunLog(run.tracker, run.parent, f"train:{m.name}", _method_note(run.plan.cfg, m))


def eval_digests(plan: Plan) -> tuple[dict[str, str], dict[str, str]]:
    """Every eval item's file sha256 and its decoded source's digest (what every cell is computed from)."""
    return item_digests(plan.eval_set.items), {name: array_digest(src.frames) for name, src in plan.sources.items()}


def provenance(
    plan: Plan, m: Method, digests: tuple[dict[str, str], dict[str, str]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(inputs, meta) of a cell of the prepared ``m``: what decides whether the cell may be reused."""
    items, sources = digests
    return cell_inputs(items, sources, plan.metrics, source_digests((*m.code_modules(), *EVAL_CODE))), m.describe()


def reusable(
    plan: Plan, run_dir: Path, methods: list[Method]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[tuple[str, float], Cell]]:
    """(cell inputs per method, description per method, the finished cells that may be reused), for prepared
    ``methods``; prints one line per method whose finished cells are refused, saying why."""
    digests = eval_digests(plan)
    inputs, metas, reuse = {}, {}, {}
    for m in methods:
        inputs[m.name], metas[m.name] = provenance(plan, m, digests)
        refused: dict[str, int] = {}
        for rp in m.rate_points():
            cell = load_cell(cell_path(run_dir, m.name, rp))
            if cell is None:
                continue
            why = cell_changes(cell, inputs[m.name], metas[m.name])
            if why is None:
                reuse[(m.name, rp)] = cell
            else:
                refused[why] = refused.get(why, 0) + 1
        if refused:
            n = sum(refused.values())
            say(f"recomputing {n} cell{'s' if n > 1 else ''} of {m.name}: {' | '.join(refused)}")
    return inputs, metas, reuse


def _ended(exc: BaseException) -> str:
    """MLflow's status for a run stopped by ``exc``: Ctrl-C and SIGTERM (raised as KeyboardInterrupt) kill it."""
    return "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"


def _record_end(*steps: Callable[[], None]) -> None:
    """Mark runs ended on the way out; a store or disk failing here too must not hide why the run stopped."""
    failed = []
    for step in steps:
        try:
            step()
        except (BenchError, OSError) as exc:
            failed.append(str(exc))
    if failed:
        say(f"could not record how the run ended ({failed[0][:200]}); a re-run resumes and ends it")


def _evaluate_all(plan: Plan, run_dir: Path, tracker: Tracker, parent: str) -> list[Cell]:
    todo = [(m, rp) for m in plan.methods for rp in m.rate_points()]
    cells, skipped = [], 0
    logged = {r.info.run_name: r.info.run_id for r in tracker.child_runs(parent)}
    n_items = len(plan.eval_set.items)
    progress.phase("evaluate", f"evaluate: {len(todo)} cells (method x rate point) over {n_items} items")
    inputs, metas, reuse = reusable(plan, run_dir, plan.methods)
    with progress.task("evaluate", (len(todo) - len(reuse)) * n_items, unit="item") as items_done:
        for i, (m, rp) in enumerate(todo, 1):
            path = cell_path(run_dir, m.name, rp)
            cell = reuse.get((m.name, rp))
            if cell is not None:
                skipped += 1
            else:
                (run_dir / "summary.json").unlink(missing_ok=True)  # the run is complete again only when it ends
                items_done.label = f"evaluate cell {i}/{len(todo)} ({m.name} @ {rp:g})"
                cell = evaluate_cell(plan, m, rp, recon_dir(run_dir, m, rp), items_done)
                cell.inputs, cell.meta = inputs[m.name], metas[m.name]
                save_cell(path, cell)
            logged_cell(plan, run_dir, tracker, parent, logged, cell, m, rp)
            cells.append(cell)
    if skipped:
        say(f"resume: {skipped} finished cells reused, {len(todo) - skipped} computed")
    return cells


def recon_dir(run_dir: Path, m: Method, rp: float) -> Path:
    """Where a cell keeps its reconstructions (for the report's visual comparisons)."""
    return run_dir / "recon" / m.name / rate_key(rp)


def logged_cell(
    plan: Plan, run_dir: Path, tracker: Tracker, parent: str, logged: dict[str, str], cell: Cell, m: Method, rp: float
) -> None:
    """Log a saved cell to ``parent`` unless it already is, and save the run id it got."""
    if cell.mlflow_parent != parent:
        _log_cell(plan, tracker, parent, logged, cell, m, rp)
        save_cell(cell_path(run_dir, m.name, rp), cell)


def _log_cell(
    plan: Plan, tracker: Tracker, parent: str, logged: dict[str, str], cell: Cell, m: Method, rp: float
) -> None:
    """The cell's MLflow child run (a recomputed cell replaces its earlier one instead of duplicating it)."""
    metrics = _cell_metrics(cell, plan.metrics)
    stale = logged.get(f"{m.name}@{rp:g}")
    if stale:
        tracker.delete_run(stale)
    cell.mlflow_run_id = tracker.child(
        parent,
        f"{m.name}@{rp:g}",
        {"method": m.name, "role": m.role, "rate_point": rp, **{f"meta.{k}": v for k, v in cell.meta.items()}},
        metrics,
        {"method": m.name, "role": m.role, **({NOTE_TAG: note} if (note := _method_note(plan.cfg, m)) else {})},
    )
    cell.mlflow_parent = parent
