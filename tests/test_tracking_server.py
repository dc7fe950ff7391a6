"""Logging over HTTP to a real ``mlflow server`` on 127.0.0.1, then reading everything back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import clusters
from tests.test_run_e2e import bench, write_config

pytestmark = pytest.mark.slow  # a real mlflow server and a `bench run` logging to it


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with clusters.mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


def test_run_logs_to_http_server(mlflow_server: str, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    cfg = write_config(
        tmp_path / "tiny.yaml",
        data={"eval": {"set": "skimage", "max_items": 1}},
        evaluation={"metrics": ["psnr-rgb"], "anchor": "j420", "bootstrap": 0},
    )
    proc = bench("run", str(cfg), "--out", str(tmp_path / "runs"), "--tracking-uri", mlflow_server, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "runs" / "mlflow.db").exists()  # nothing went to the default sqlite store
    client = MlflowClient(tracking_uri=mlflow_server)
    exp = client.get_experiment_by_name("tiny")
    runs = client.search_runs([exp.experiment_id])
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    assert parent.info.status == "FINISHED"
    assert len([r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]) == 15
    local = client.download_artifacts(parent.info.run_id, "summary.json", str(tmp_path))
    assert Path(local).read_text().startswith("{")
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "plots")} >= {"plots/rd_psnr-rgb.png"}
