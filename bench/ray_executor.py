"""``bench run --executor ray``: every training and every cell as a Ray task, the driver keeping the books.

Each training (member x λ x seed) is a task with its declared resources (a GPU with ``--device cuda``); each
cell (method x rate point) is a CPU task that takes its model's training task as an argument, so Ray starts it
only once that model is in the store. The driver owns the MLflow parent run and creates every child: it opens
a training run before submitting the training (the worker logs its curves there by id), and it saves each cell
the workers return and logs its child run, exactly as a local run does. A task whose worker dies is retried
(``MAX_RETRIES``); one that raises is reported with its experiment, method and rate point while the others go on,
and the run ends failed with every finished cell kept, so the same command resumes it.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

from bench import progress
from bench.errors import BenchError
from bench.estimate import trains
from bench.method import Method
from bench.progress import duration
from bench.ray_tasks import Job, cell_task, train_task
from bench.records import Cell
from bench.results import cell_path, save_cell
from bench.runner import (
    RunContext,
    SilentLog,
    TrainRunLog,
    eval_digests,
    logged_cell,
    prepare_context,
    provenance,
    reusable,
    train_log,
)
from bench.tracking import sqlite_path

MAX_RETRIES = 3  # a task whose worker process or node dies is run again this many times
STATUS_EVERY_S = 10.0  # the driver's status line, at most this often (and on every finished task)


def ray_address_error(address: str | None, tracking_uri: str | None) -> str | None:
    """Why a cluster cannot log into this store (workers on other machines need a server), or None."""
    if address is None or (tracking_uri or "").startswith(("http://", "https://")):
        return None
    return (
        f"--executor ray --address {address}: workers on other machines cannot write to "
        f"{tracking_uri or 'the local sqlite store under --out'}; start a shared MLflow server and pass "
        "--tracking-uri http://HOST:5000 (README: Sweeps on a cluster)"
    )


@dataclass
class RayExecutor:
    """Connects to ``address`` (None: a local Ray started for this process) on first use; ``close`` disconnects."""

    address: str | None = None
    num_cpus: int | None = None  # only for a local Ray started here
    connected: bool = field(default=False, init=False)

    def connect(self) -> Any:
        import ray

        if not self.connected:
            ray.init(
                address=self.address,
                num_cpus=self.num_cpus if self.address is None else None,
                log_to_driver=False,  # a worker's training lines would interleave; errors come back with the task
                logging_level=logging.WARNING,
                configure_logging=True,
            )
            self.connected = True
        return ray

    def close(self) -> None:
        if self.connected:
            import ray

            ray.shutdown()
            self.connected = False

    def __call__(self, run: RunContext) -> list[Cell]:
        ray = self.connect()
        uri = run.tracker.uri
        if sqlite_path(uri) is None and not uri.startswith(("http://", "https://")):
            raise BenchError(f"--executor ray: tracking store {uri} is not one workers can share; use a server")
        return _Sweep(run, ray).run()


class _Sweep:
    def __init__(self, run: RunContext, ray: Any) -> None:
        self.run_ctx, self.ray, self.plan = run, ray, run.plan
        cfg = self.plan.cfg
        self.job = Job(
            run.config_path.read_text(),
            str(run.config_path),
            cfg.profile,
            cfg.data.eval.max_items,
            os.getcwd(),
            run.run_dir,
            run.out.resolve(),
            run.device,
            run.tracker.uri,
            cfg.name,
        )
        self.todo = [(m, rp) for m in self.plan.methods for rp in m.rate_points()]
        self.units: dict[Any, tuple[str, Method, float | None]] = {}  # ref -> (kind, method, rate point)
        self.training: dict[str, TrainRunLog] = {}
        self.prepared: set[str] = set()
        self.inputs: dict[str, dict[str, Any]] = {}
        self.metas: dict[str, dict[str, Any]] = {}
        self.cells: dict[tuple[str, float], Cell] = {}
        self.digests = eval_digests(self.plan)
        self.logged = {r.info.run_name: r.info.run_id for r in run.tracker.child_runs(run.parent)}
        self.failed: list[str] = []
        self.t0, self.done, self.last_status = time.perf_counter(), 0, 0.0

    def run(self) -> list[Cell]:
        ray, cfg = self.ray, self.plan.cfg
        job = ray.put(self.job)
        gpus = 1 if self.job.device == "cuda" else 0
        train = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=MAX_RETRIES)(train_task)
        cell = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(cell_task)
        trained: dict[str, Any] = {}
        for m in filter(trains, self.plan.methods):
            if not self._finished(m):
                self.training[m.name] = log = train_log(self.run_ctx, m)
                ref = train.options(name=f"train {cfg.name} {m.name}").remote(job, m.name, log.opened())
                trained[m.name] = ref
                self.units[ref] = ("train", m, None)
        reused = 0
        for m in self.plan.methods:
            points = m.rate_points()
            if m.name not in trained:  # its cells may be reused: the driver knows the model's weights now
                self._prepare(m)
                _, _, reuse = reusable(self.plan, self.run_ctx.run_dir, [m])
                self.cells.update(reuse)
                reused += len(reuse)
                points = [rp for rp in points if (m.name, rp) not in reuse]
            for rp in points:
                ref = cell.options(name=f"cell {cfg.name} {m.name}@{rp:g}").remote(job, m.name, rp, trained.get(m.name))
                self.units[ref] = ("cell", m, rp)
        self.total = len(self.units)
        progress.say(
            f"ray: {len(trained)} trainings and {self.total - len(trained)} cells as tasks"
            + (f"; {reused} finished cells reused" if reused else "")
        )
        self._collect()
        if self.failed:
            n = len(self.failed)
            raise BenchError(
                f"{n} of {self.total} Ray task{'s' if n > 1 else ''} failed, the first: {self.failed[0]}; finished "
                "cells are kept: re-run the same command to resume"
            )
        run, out = self.run_ctx, []
        for m, rp in self.todo:  # every cell logged to this parent, in the local run's order
            c = self.cells[(m.name, rp)]
            logged_cell(self.plan, run.run_dir, run.tracker, run.parent, self.logged, c, m, rp)
            out.append(c)
        return out

    def _finished(self, m: Method) -> bool:
        ctx = prepare_context(self.plan, self.run_ctx.run_dir, self.run_ctx.out, "cpu", SilentLog(), m)
        return all(p.reused for p in m.training_plan(ctx))

    def _prepare(self, m: Method, log: Any = None) -> None:
        """Load ``m``'s finished model here (its description names the weights; the summary counts its nets)."""
        if trains(m) and m.name not in self.prepared:
            log = log or train_log(self.run_ctx, m)  # as a local run: the reused model is logged to its training run
            m.prepare(prepare_context(self.plan, self.run_ctx.run_dir, self.run_ctx.out, "cpu", log, m))
            if isinstance(log, TrainRunLog):
                log.close()
            self.prepared.add(m.name)
        if m.name not in self.metas:
            self.inputs[m.name], self.metas[m.name] = provenance(self.plan, m, self.digests)

    def _collect(self) -> None:
        ray = self.ray
        pending = list(self.units)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=STATUS_EVERY_S)
            for ref in ready:
                kind, m, rp = self.units[ref]
                where = f"experiment {self.plan.cfg.name}, method {m.name}" + (
                    f", rate point {rp:g}" if rp is not None else " (training)"
                )
                try:
                    value = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    self._fail(kind, m, where, exc)
                else:
                    self._finish(kind, m, rp, value)
                self.done += 1
            self._status(len(pending))

    def _fail(self, kind: str, m: Method, where: str, exc: Exception) -> None:
        cause = getattr(exc, "cause", None) or exc
        first = str(cause).strip().splitlines()
        reason = first[-1] if first else type(cause).__name__
        self.failed.append(f"{where}: {reason[:300]}")
        progress.say(f"FAILED {where}: {reason[:300]}")
        if kind == "train":
            self.training[m.name].close("FAILED")

    def _finish(self, kind: str, m: Method, rp: float | None, value: Any) -> None:
        run = self.run_ctx
        if kind == "train":
            self.training[m.name].close()
            self._prepare(m, SilentLog())  # the worker logged the model to the training run
            return
        assert rp is not None
        self._prepare(m)
        c: Cell = value
        c.inputs, c.meta = self.inputs[m.name], self.metas[m.name]
        (run.run_dir / "summary.json").unlink(missing_ok=True)  # the run is complete again only when it ends
        save_cell(cell_path(run.run_dir, m.name, rp), c)
        logged_cell(self.plan, run.run_dir, run.tracker, run.parent, self.logged, c, m, rp)
        self.cells[(m.name, rp)] = c

    def _status(self, left: int) -> None:
        """``ray: 7/12 tasks done, 2 running, 3 waiting, 0 failed; about 40 s left``"""
        now = time.perf_counter()
        if left and now - self.last_status < STATUS_EVERY_S and self.done != self.total:
            return
        self.last_status = now
        if not left:
            progress.say(f"ray: all {self.total} tasks ended, {len(self.failed)} failed, in {duration(now - self.t0)}")
            return
        running = _running(self.ray)
        waiting = max(left - running, 0) if running is not None else left
        elapsed = now - self.t0
        eta = f"; about {duration(elapsed / self.done * left)} left" if self.done else ""
        shown = f"{running} running, {waiting} waiting" if running is not None else f"{left} pending"
        progress.say(f"ray: {self.done}/{self.total} tasks done, {shown}, {len(self.failed)} failed{eta}")


def _running(ray: Any) -> int | None:
    """Tasks of this driver's job running now (Ray's state API; None where the cluster has no dashboard)."""
    try:
        from ray.util.state import list_tasks

        job = ray.get_runtime_context().get_job_id()
        return len(list_tasks(filters=[("job_id", "=", job), ("state", "=", "RUNNING")], timeout=5, limit=10000))
    except Exception:  # a status line must never stop the sweep
        return None
