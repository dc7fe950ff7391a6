"""MLflow tracking: one parent run per ``bench run``, one nested child per method x rate point.

Uses ``MlflowClient`` with explicit run ids (no global active run), so a resumed run logs into
the same parent and a cell's child run is created only once the cell is finished.
"""
from __future__ import annotations

import logging
import math
import os
import warnings
from pathlib import Path
from typing import Any

from bench.errors import BenchError

# MLflow's alembic migrations and dataset warnings are noise on the console.
for _name in ("alembic", "mlflow"):
    logging.getLogger(_name).setLevel(logging.WARNING)
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

NESTED_TAG = "mlflow.parentRunId"


def default_tracking_uri(out_dir: Path) -> str:
    return f"sqlite:///{Path(out_dir).resolve() / 'mlflow.db'}"


class Tracker:
    """Thin, explicit wrapper; every call names the run it logs to."""

    def __init__(self, uri: str, experiment: str, artifact_root: Path | None = None) -> None:
        import mlflow
        from mlflow.tracking import MlflowClient

        self.uri = uri
        for name in ("mlflow", "alembic"):  # mlflow sets its own level on import
            logging.getLogger(name).setLevel(logging.WARNING)
        try:
            mlflow.set_tracking_uri(uri)
            self.client = MlflowClient(tracking_uri=uri)
            exp = self.client.get_experiment_by_name(experiment)
            if exp is None:
                # a sqlite store would otherwise put artifacts in ./mlruns of whatever the cwd is
                location = artifact_root.resolve().as_uri() if artifact_root and uri.startswith("sqlite:") else None
                self.experiment_id = self.client.create_experiment(experiment, artifact_location=location)
            else:
                self.experiment_id = exp.experiment_id
        except Exception as exc:
            raise BenchError(f"cannot open the MLflow tracking store {uri}: {exc}") from None

    def start_parent(self, run_name: str, tags: dict[str, str], resume_id: str | None) -> str:
        """Reuse ``resume_id`` when the store still has it, otherwise start a new parent run."""
        if resume_id:
            try:
                run = self.client.get_run(resume_id)
                if run.info.experiment_id == self.experiment_id:
                    self.client.update_run(resume_id, status="RUNNING")
                    return resume_id
            except Exception:
                pass
        run = self.client.create_run(self.experiment_id, run_name=run_name, tags=tags)
        return run.info.run_id

    def end(self, run_id: str, status: str) -> None:
        self.client.set_terminated(run_id, status=status)

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:6000]) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[i:i + 100])

    def log_metrics(self, run_id: str, metrics: dict[str, float], step: int = 0) -> None:
        import time

        from mlflow.entities import Metric

        ts = int(time.time() * 1000)
        items = [Metric(k, float(v), ts, step) for k, v in metrics.items()
                 if v is not None and math.isfinite(float(v))]
        for i in range(0, len(items), 500):
            self.client.log_batch(run_id, metrics=items[i:i + 500])

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        for k, v in tags.items():
            self.client.set_tag(run_id, k, v)

    def open_child(self, parent_id: str, name: str, tags: dict[str, str]) -> str:
        """A child run left open for streaming metrics (training curves)."""
        run = self.client.create_run(self.experiment_id, run_name=name, tags={NESTED_TAG: parent_id, **tags})
        return run.info.run_id

    def child(self, parent_id: str, name: str, params: dict[str, Any], metrics: dict[str, float],
              tags: dict[str, str]) -> str:
        """A finished child run (created, filled and closed in one go)."""
        run = self.client.create_run(self.experiment_id, run_name=name,
                                     tags={NESTED_TAG: parent_id, **tags})
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

    def log_figure(self, run_id: str, figure: Any, artifact_file: str) -> None:
        self.client.log_figure(run_id, figure, artifact_file)

    def log_dataset(self, run_id: str, manifest: list[dict[str, str]], name: str, source: str,
                    digest: str, context: str) -> None:
        """The dataset manifest (names + sha256) as an MLflow dataset input of the run."""
        import pandas as pd
        from mlflow.data.pandas_dataset import from_pandas

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = from_pandas(pd.DataFrame(manifest), source=source, name=name, digest=digest[:36])
            from mlflow.entities import DatasetInput, InputTag

            self.client.log_inputs(run_id, datasets=[DatasetInput(
                ds._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", context)])])

    def child_runs(self, parent_id: str) -> list[Any]:
        return self.client.search_runs([self.experiment_id],
                                       filter_string=f"tags.`{NESTED_TAG}` = '{parent_id}'",
                                       max_results=5000)
