"""MLflow tracking: one parent run per ``bench run``, one nested child per method x rate point.

Uses ``MlflowClient`` with explicit run ids (no global active run), so a resumed run logs into
the same parent and a cell's child run is created only once the cell is finished. Every call
into MLflow goes through ``_Guarded``: a store that fails (unreachable server, corrupt or
read-only sqlite file, full disk) ends as one ``TrackingError`` line instead of a traceback.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sqlite3
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from bench.errors import BenchError
from bench.interrupts import deferred
from bench.locks import exclusive

# MLflow's alembic migrations and dataset warnings are noise on the console.
for _name in ("alembic", "mlflow"):
    logging.getLogger(_name).setLevel(logging.WARNING)
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

NESTED_TAG = "mlflow.parentRunId"
NOTE_TAG = "mlflow.note.content"  # the description the UI shows (and edits) for an experiment or a run
NOT_FOUND = "RESOURCE_DOES_NOT_EXIST"
# MLflow 3 opens an experiment in its GenAI overview ("Traces 0") unless the experiment says it is classic ML.
KIND_TAG, ML_KIND = "mlflow.experimentKind", "custom_model_development"
DEFAULT_UI = "http://127.0.0.1:5000"  # where ``bench ui`` and ``mlflow ui`` listen unless told otherwise


def mlflow_key(*parts: str) -> str:
    """A metric or tag key MLflow accepts: a method name may hold ``+``, which MLflow refuses."""
    return ".".join(re.sub(r"[^\w.\-]", "_", p) for p in parts)


def ui_base(uri: str) -> str:
    """The address of the UI that shows ``uri``: the server itself, else ``bench ui`` at its default port."""
    return uri.rstrip("/") if uri.startswith(("http://", "https://")) else DEFAULT_UI


def runs_url(base: str, experiment_id: str, run_id: str | None = None) -> str:
    """The runs table (or one run's page); ``workflowType`` because MLflow 3.17's UI follows that, not the tag."""
    run = f"/{run_id}" if run_id else ""
    return f"{base}/#/experiments/{experiment_id}/runs{run}?workflowType=machine_learning"


def default_tracking_uri(out_dir: Path) -> str:
    return f"sqlite:///{Path(out_dir).resolve() / 'mlflow.db'}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI; None for other stores."""
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


class TrackingError(BenchError):
    """The tracking store failed; ``code`` is MLflow's error code where it gave one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


def _hint(uri: str, text: str) -> str:
    """What the user does about a failing store, from what the failure says."""
    db = sqlite_path(uri)
    low = text.lower()
    if db and ("not a database" in low or "malformed" in low):
        return (
            f"{db} is not a readable MLflow store: move it aside (mv {db} {db}.broken) and re-run; finished "
            "cells are kept and logged to a new store"
        )
    if "readonly" in low or "read-only" in low:
        return "the store is read-only: make it writable, or pass another --out or --tracking-uri"
    if "disk is full" in low or "no space" in low:
        return "the disk is full: free space, then re-run (finished cells are kept)"
    if "database is locked" in low:
        return "another process holds the sqlite store; for parallel runs log to an MLflow server (--tracking-uri)"
    if not _database(uri):
        return "is the server running and is the address right? start it or pass another --tracking-uri"
    return "fix the store or pass another --tracking-uri, then re-run (finished cells are kept)"


def _error(uri: str, exc: Exception) -> TrackingError:
    text = str(exc).strip()
    reason = re.search(r"\[Errno -?\d+\] [^'\")]+", text)  # requests buries it in a page of context
    first = reason.group(0) if reason else (text.splitlines()[0] if text else type(exc).__name__)
    return TrackingError(
        f"MLflow tracking store {uri} failed ({first[:200]}); {_hint(uri, text)}", getattr(exc, "error_code", None)
    )


def _store_errors() -> tuple[type[Exception], ...]:
    """What a failing store raises; anything else is a bug and stays a traceback."""
    from alembic.util import CommandError
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    return MlflowException, SQLAlchemyError, CommandError, OSError, sqlite3.Error


def _database(uri: str) -> bool:
    """A store the client opens itself through SQLAlchemy (sqlite, PostgreSQL ...), not a server over HTTP."""
    return not uri.startswith(("http:", "https:", "databricks"))


class _Guarded:
    """An ``MlflowClient`` whose store failures are ``TrackingError``s.

    On a database store an interrupt waits for the call to end (``bench.interrupts``): raised inside
    it, the connection would keep the database locked. An HTTP call stays interruptible (its
    retries can take minutes).
    """

    def __init__(self, client: Any, uri: str) -> None:
        self._client, self._uri = client, uri

    def __getattr__(self, name: str) -> Callable[..., Any]:
        fn = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                with deferred() if _database(self._uri) else nullcontext():
                    return fn(*args, **kwargs)
            except _store_errors() as exc:
                raise _error(self._uri, exc) from None

        return call


@contextmanager
def _first_contact(uri: str) -> Iterator[None]:
    """MLflow retries an HTTP call for about four minutes; a server that is not there at the start says so at once."""
    key = "MLFLOW_HTTP_REQUEST_MAX_RETRIES"
    old = os.environ.get(key)
    if not _database(uri):
        os.environ[key] = "2"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


def _local_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


class Tracker:
    """Thin, explicit wrapper; every call names the run it logs to."""

    def __init__(self, uri: str, experiment: str, artifact_root: Path | None = None, description: str = "") -> None:
        import mlflow
        from mlflow.tracking import MlflowClient

        self.uri = uri
        for name in ("mlflow", "alembic"):  # mlflow sets its own level on import
            logging.getLogger(name).setLevel(logging.WARNING)
        mlflow.set_tracking_uri(uri)
        db = sqlite_path(uri)
        # Two runs opening a new sqlite store together race on its schema migration (MlflowClient
        # migrates on creation), and two runs of one experiment name on creating the experiment:
        # one process at a time, through a lock file beside the database.
        with exclusive(db.with_name(db.name + ".lock")) if db else _first_contact(uri):
            try:
                self.client = _Guarded(MlflowClient(tracking_uri=uri), uri)
            except _store_errors() as exc:
                raise _error(uri, exc) from None
            exp = self.client.get_experiment_by_name(experiment)
            if exp is None:
                # a sqlite store would otherwise put artifacts in ./mlruns of whatever the cwd is
                location = artifact_root.resolve().as_uri() if artifact_root and db else None
                tags = {KIND_TAG: ML_KIND, **({NOTE_TAG: description} if description else {})}
                self.experiment_id = self.client.create_experiment(experiment, artifact_location=location, tags=tags)
                return
            self.experiment_id = exp.experiment_id
            if exp.lifecycle_stage == "deleted":
                raise TrackingError(self._deleted(experiment))
            if db and artifact_root:
                self._repoint(db, exp.artifact_location, artifact_root.resolve().as_uri())
            if KIND_TAG not in exp.tags:  # made by an older bench, or by hand; a kind chosen in the UI is kept
                self.client.set_experiment_tag(self.experiment_id, KIND_TAG, ML_KIND)
            if description and exp.tags.get(NOTE_TAG) != description:  # the YAML is where it is written
                self.client.set_experiment_tag(self.experiment_id, NOTE_TAG, description)

    def _deleted(self, experiment: str) -> str:
        uri, eid = self.uri, self.experiment_id
        fix = f"restore it (MLFLOW_TRACKING_URI={uri} mlflow experiments restore --experiment-id {eid})"
        if sqlite_path(uri):
            fix += f" or delete it for good with its runs (mlflow gc --backend-store-uri {uri} --experiment-ids {eid})"
        return f"MLflow experiment {experiment!r} (id {eid}) is deleted in {uri}; {fix}, then re-run"

    def _repoint(self, db: Path, old: str, new: str) -> None:
        """A moved ``--out``: the store names the old artefact folder (absolute ``file://``), which is gone.

        MLflow has no call that moves an experiment's artefact location, so the experiment's and its
        runs' locations are rewritten in the sqlite file itself (under the store lock).
        """
        old_path = _local_path(old)
        if old == new or old_path is None or old_path.exists():
            return
        try:
            with sqlite3.connect(db) as con:
                con.execute(
                    "UPDATE runs SET artifact_uri = ? || substr(artifact_uri, ?) "
                    "WHERE experiment_id = ? AND substr(artifact_uri, 1, ?) = ?",
                    (new, len(old) + 1, self.experiment_id, len(old), old),
                )
                con.execute(
                    "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?", (new, self.experiment_id)
                )
            con.close()
        except sqlite3.Error as exc:
            raise _error(self.uri, exc) from None

    def start_parent(self, run_name: str, tags: dict[str, str], resume_id: str | None) -> str:
        """Reopen ``resume_id`` when this store holds it (live, same experiment), else start a new parent run.

        A run id is a random uuid, so finding it here means this is its store, even moved with ``--out``.
        """
        if resume_id:
            try:
                run = self.client.get_run(resume_id)
            except TrackingError as exc:
                if exc.code != NOT_FOUND:
                    raise
            else:
                if run.info.experiment_id == self.experiment_id and run.info.lifecycle_stage == "active":
                    self.reopen(resume_id)
                    self.set_tags(resume_id, tags)
                    return resume_id
        run = self.client.create_run(self.experiment_id, run_name=run_name, tags=tags)
        return run.info.run_id

    def reopen(self, run_id: str) -> None:
        self.client.update_run(run_id, status="RUNNING")

    def end(self, run_id: str, status: str) -> None:
        self.client.set_terminated(run_id, status=status)

    def params(self, run_id: str) -> dict[str, str]:
        return dict(self.client.get_run(run_id).data.params)

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:6000]) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[i : i + 100])

    def log_metrics(self, run_id: str, metrics: dict[str, float], step: int = 0) -> None:
        import time

        from mlflow.entities import Metric

        ts = int(time.time() * 1000)
        items = [Metric(k, float(v), ts, step) for k, v in metrics.items() if v is not None and math.isfinite(float(v))]
        for i in range(0, len(items), 500):
            self.client.log_batch(run_id, metrics=items[i : i + 500])

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        items = [RunTag(k, v) for k, v in tags.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(run_id, tags=items[i : i + 100])

    def replace_tags(self, run_id: str, prefix: str, tags: dict[str, str]) -> None:
        """Set ``tags`` and delete the run's other tags under ``prefix``: a reason that no longer holds goes."""
        for key in self.client.get_run(run_id).data.tags:
            if key.startswith(prefix) and key not in tags:
                self.client.delete_tag(run_id, key)
        self.set_tags(run_id, tags)

    def open_child(self, parent_id: str, name: str, tags: dict[str, str]) -> str:
        """A child run left open for streaming metrics (training curves)."""
        run = self.client.create_run(self.experiment_id, run_name=name, tags={NESTED_TAG: parent_id, **tags})
        return run.info.run_id

    def child(
        self, parent_id: str, name: str, params: dict[str, Any], metrics: dict[str, float], tags: dict[str, str]
    ) -> str:
        """A finished child run (created, filled and closed in one go: an interrupt waits for it)."""
        with deferred() if _database(self.uri) else nullcontext():
            run = self.client.create_run(self.experiment_id, run_name=name, tags={NESTED_TAG: parent_id, **tags})
            self.log_params(run.info.run_id, params)
            self.log_metrics(run.info.run_id, metrics)
            self.client.set_terminated(run.info.run_id, status="FINISHED")
        return run.info.run_id

    def delete_run(self, run_id: str) -> None:
        self.client.delete_run(run_id)

    def log_artifact(self, run_id: str, path: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(run_id, str(path), artifact_path)

    def log_artifacts(self, run_id: str, path: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifacts(run_id, str(path), artifact_path)

    def log_model(self, run_id: str, folder: Path, name: str) -> None:
        """A trained model folder (weights file + ``card.json``) as the run's artefact ``models/<name>``."""
        folder = Path(folder)
        if not (folder / "card.json").is_file():
            raise BenchError(f"{folder} is not a trained model folder (no card.json in it)")
        if not re.fullmatch(r"[\w.+-]+", name) or name in {".", ".."}:
            raise BenchError(f"model name {name!r}: letters, digits and _ . + - only")
        self.client.log_artifacts(run_id, str(folder), f"models/{name}")

    def log_figure(self, run_id: str, figure: Any, artifact_file: str) -> None:
        self.client.log_figure(run_id, figure, artifact_file)

    def log_dataset(
        self, run_id: str, manifest: list[dict[str, str]], name: str, source: str, digest: str, context: str
    ) -> None:
        """The dataset manifest (names + sha256) as an MLflow dataset input of the run."""
        import pandas as pd
        from mlflow.data.pandas_dataset import from_pandas

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = from_pandas(pd.DataFrame(manifest), source=source, name=name, digest=digest[:36])
            from mlflow.entities import DatasetInput, InputTag

            self.client.log_inputs(
                run_id, datasets=[DatasetInput(ds._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", context)])]
            )

    def child_runs(self, parent_id: str) -> list[Any]:
        return self.client.search_runs(
            [self.experiment_id], filter_string=f"tags.`{NESTED_TAG}` = '{parent_id}'", max_results=5000
        )
