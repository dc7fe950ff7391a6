"""`bench ui`: the MLflow UI for a run's own store, on loopback, answering for that run."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.errors import BenchError
from tests.test_report import make_dataset, run_bench, write_experiment
from tests.test_run_e2e import REPO

pytestmark = pytest.mark.slow  # a real `bench run` and the MLflow UI it serves

UI = "import typer; from reports.command import ui_command; typer.run(ui_command)"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    tmp = tmp_path_factory.mktemp("ui")
    cfg = write_experiment(tmp / "rep.yaml", make_dataset(data_dir, tmp / "images", 2), metrics=("psnr-rgb",))
    return run_bench(tmp, cfg, "quick")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ui_serves_the_runs_store_on_loopback(run_dir: Path, tmp_path: Path) -> None:
    state = json.loads((run_dir / "state.json").read_text())
    port = _free_port()
    log = tmp_path / "ui.log"
    proc = subprocess.Popen(
        [sys.executable, "-c", UI, str(run_dir), "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while proc.poll() is None:  # a hang is pytest-timeout's to end
            try:
                with urllib.request.urlopen(
                    f"{url}/ajax-api/2.0/mlflow/runs/get?run_id={state['mlflow_run_id']}", timeout=2
                ) as r:
                    body = json.loads(r.read())
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"mlflow ui did not answer: {log.read_text()[-2000:]}")
        assert body["run"]["info"]["run_id"] == state["mlflow_run_id"]
        text = log.read_text()
        assert f"{url}/#/experiments/{body['run']['info']['experiment_id']}/runs/{state['mlflow_run_id']}" in text
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_ui_refuses_a_busy_port_and_a_missing_store(run_dir: Path, tmp_path: Path) -> None:
    from reports.command import ui_command

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(BenchError, match="is in use; pass --port"):
            ui_command(run_dir, None, busy.getsockname()[1])
    with pytest.raises(BenchError, match="no MLflow store"):
        ui_command(None, f"sqlite:///{tmp_path / 'none.db'}", _free_port())
    assert not (tmp_path / "none.db").exists()
    with pytest.raises(BenchError, match="no state.json"):
        ui_command(tmp_path, None, _free_port())
