"""Logging over HTTP to a real ``mlflow server`` on 127.0.0.1, then reading everything back."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_run_e2e import bench, write_config

pytestmark = pytest.mark.slow  # a real mlflow server and a `bench run` logging to it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    with open(tmp / "server.log", "wb") as server_log:  # the server keeps its own copy of the handle
        proc = subprocess.Popen(
            [
                str(mlflow_bin),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{tmp / 'server.db'}",
                "--artifacts-destination",
                str(tmp / "artifacts"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=server_log,
            cwd=tmp,
        )
    url = f"http://127.0.0.1:{port}"
    while True:  # a hang is pytest-timeout's to end
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            pytest.fail(f"mlflow server exited: {(tmp / 'server.log').read_text()[-2000:]}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


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
