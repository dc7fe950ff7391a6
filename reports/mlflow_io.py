"""What the report reads from and writes to MLflow: parent runs, artifacts, metric histories.

The harness's runs are found by experiment name and tags (parent runs only: they have no
``mlflow.parentRunId`` tag); a report is logged back under the parent run's artifacts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.tracking import NESTED_TAG
from reports.load import RUN_ID, RunData, load_folder

ARTIFACTS = ("summary.json", "points.csv", "results", "config")
MAX_CHILDREN = 5000


def client(uri: str) -> Any:
    """A client for an existing store: opening a missing sqlite file would silently create an empty one."""
    from mlflow.tracking import MlflowClient

    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise BenchError(f"no MLflow store at {uri} (file missing); pass --tracking-uri, or give a run folder")
    try:
        return MlflowClient(tracking_uri=uri)
    except Exception as exc:
        raise BenchError(f"cannot open the MLflow tracking store {uri}: {exc}") from None


def find_parent(uri: str, spec: str, tags: dict[str, str]) -> str:
    """``spec``: a parent run id, or an experiment name (its latest finished run matching ``tags``)."""
    c = client(uri)
    if RUN_ID.match(spec):
        try:
            c.get_run(spec)
        except Exception:
            raise BenchError(f"MLflow run {spec} not found in {uri}") from None
        return spec
    exp = c.get_experiment_by_name(spec)
    if exp is None:
        names = ", ".join(sorted(e.name for e in c.search_experiments())) or "(none)"
        raise BenchError(
            f"{spec!r} is neither a run folder, an MLflow run id nor an experiment in {uri}; experiments there: {names}"
        )
    where = " and ".join([f"tags.`{k}` = '{v}'" for k, v in tags.items()] + ["attributes.status = 'FINISHED'"])
    runs = [
        r
        for r in c.search_runs(
            [exp.experiment_id], filter_string=where, order_by=["attributes.start_time DESC"], max_results=200
        )
        if NESTED_TAG not in r.data.tags
    ]
    if not runs:
        shown = ", ".join(f"{k}={v}" for k, v in tags.items()) or "no tag filter"
        raise BenchError(f"experiment {spec!r} in {uri} has no finished parent run ({shown})")
    return runs[0].info.run_id


def load_run(uri: str, run_id: str, cache: Path) -> RunData:
    """The run folder named by the run's ``run_dir`` tag when it is here, else its artifacts
    downloaded under ``cache``."""
    c = client(uri)
    run = c.get_run(run_id)
    run_dir = Path(run.data.tags.get("run_dir", "/nonexistent"))
    if (run_dir / "summary.json").is_file():
        data = load_folder(run_dir, tracking_uri=uri)
        if data.mlflow_run_id == run_id:
            return data
    dst = cache / run_id
    dst.mkdir(parents=True, exist_ok=True)
    present = {a.path for a in c.list_artifacts(run_id)}
    if "summary.json" not in present:
        raise BenchError(f"MLflow run {run_id} has no summary.json artifact: not a finished `bench run` parent run")
    for name in ARTIFACTS:
        if name in present:
            c.download_artifacts(run_id, name, str(dst))
    return load_folder(dst, local=False, tracking_uri=uri)


def _stepped(r: Any) -> list[str]:
    """Keys whose latest value was logged at a step > 0: only those can have a curve, and asking
    for every key's history of every evaluation child run would cost one query each."""
    return [m.key for m in r.data.to_proto().metrics if m.step > 0]


def metric_histories(run: RunData) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """metric -> run name -> (step, value) for every metric logged at two or more steps.

    Reads the parent run and its children; a store that cannot be reached gives no curves.
    """
    if not (run.tracking_uri and run.mlflow_run_id):
        return {}
    c = client(run.tracking_uri)
    try:
        parent = c.get_run(run.mlflow_run_id)
        children = c.search_runs(
            [parent.info.experiment_id],
            filter_string=f"tags.`{NESTED_TAG}` = '{run.mlflow_run_id}'",
            max_results=MAX_CHILDREN,
        )
    except Exception:
        return {}
    out: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for r in [parent, *children]:
        for key in _stepped(r):
            hist = c.get_metric_history(r.info.run_id, key)
            if len({m.step for m in hist}) >= 2:
                name = r.info.run_name or r.info.run_id[:8]
                out.setdefault(key, {})[name] = sorted((m.step, m.value) for m in hist)
    return out


def log_report(run: RunData, out: Path, artifact_path: str) -> None:
    """The whole report folder as artifacts of the run's parent MLflow run."""
    if not (run.tracking_uri and run.mlflow_run_id):
        raise BenchError(f"{run.name}: no MLflow run recorded in state.json/summary.json; use --no-log")
    try:
        client(run.tracking_uri).log_artifacts(run.mlflow_run_id, str(out), artifact_path)
    except Exception as exc:
        raise BenchError(
            f"cannot log the report to MLflow run {run.mlflow_run_id} at {run.tracking_uri}: {exc} "
            "(use --no-log to skip)"
        ) from None
