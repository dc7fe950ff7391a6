"""What a Ray worker runs: one training or one evaluation cell of an experiment.

A task gets the experiment as text (not pickled torch models) and rebuilds its plan the way the driver did;
the rebuilt plan and the models it prepared stay in the worker process for its next task of the same run.
Trained models are read from and written to the model store under ``--out``, which every worker must reach
(the declared shared path). Training curves go to the training run the driver opened, by its id, through
``MlflowClient``; the cell goes back to the driver, which saves it and logs its child run.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.config import parse_config
from bench.estimate import trains
from bench.evaluate import evaluate_cell
from bench.method import Method, RunLog
from bench.plan import Plan, build_plan
from bench.records import Cell
from bench.runner import SilentLog, TrainRunLog, prepare_context, recon_dir, resolve_device, with_max_items
from bench.tracking import Tracker


@dataclass(frozen=True)
class Job:
    """One experiment as every task of it sees it (small and picklable: put once into Ray's object store)."""

    config_text: str
    config_source: str  # the YAML's path on the driver, for error messages
    profile: str | None
    max_items: int | None
    cwd: str  # relative data paths in the YAML are the driver's
    run_dir: Path
    out: Path
    device: str  # as asked: each worker resolves auto against its own hardware
    tracking_uri: str
    experiment: str
    key: str = field(init=False)

    def __post_init__(self) -> None:
        text = f"{self.config_text}\0{self.profile}\0{self.max_items}\0{self.cwd}\0{self.run_dir}"
        object.__setattr__(self, "key", hashlib.sha256(text.encode()).hexdigest())


_plans: dict[str, Plan] = {}
_prepared: set[tuple[str, str]] = set()


def _plan(job: Job) -> Plan:
    if job.key not in _plans:
        if os.path.isdir(job.cwd):
            os.chdir(job.cwd)
        cfg = parse_config(yaml.safe_load(job.config_text), job.config_source, job.profile)
        _plans[job.key] = build_plan(with_max_items(cfg, job.max_items))
    return _plans[job.key]


def _method(plan: Plan, name: str) -> Method:
    return next(m for m in plan.methods if m.name == name)


def _prepare(job: Job, plan: Plan, m: Method, log: RunLog) -> None:
    if trains(m) and (job.key, m.name) not in _prepared:
        m.prepare(prepare_context(plan, job.run_dir, job.out, resolve_device(job.device), log, m))
        _prepared.add((job.key, m.name))


def train_task(job: Job, method: str, run_id: str) -> str:
    """Train ``method`` into the model store, logging to the training run ``run_id``; return its name."""
    plan = _plan(job)
    m = _method(plan, method)
    log = TrainRunLog(Tracker(job.tracking_uri, job.experiment), "", f"train:{m.name}")
    log.run_id = run_id  # the driver opened it and ends it
    _prepare(job, plan, m, log)
    return m.name


def cell_task(job: Job, method: str, rate_point: float, trained: str | None = None) -> Cell:
    """Evaluate one cell through the real codec; ``trained`` is the training task's result it waits for."""
    plan = _plan(job)
    m = _method(plan, method)
    _prepare(job, plan, m, SilentLog())  # the model is finished in the store: this loads it
    return evaluate_cell(plan, m, rate_point, recon_dir(job.run_dir, m, rate_point))
