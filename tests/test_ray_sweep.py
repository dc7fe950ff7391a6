"""``bench run --executor ray`` on a real Ray cluster (a head and a separate worker node on 127.0.0.1) logging to a
real ``mlflow server`` (sqlite backend, one server worker), against ``bench run`` in one process (issue #19).

Every process runs one torch thread (Ray gives a 1-CPU task ``OMP_NUM_THREADS=1``; the local run gets it from
``worker_env``): with the same thread count the CPU kernels do the same float operations, so trained weights
are compared exactly, not within a tolerance.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import torch
import yaml

from tests.clusters import mlflow_server, ray_cluster, worker_env
from tests.test_reliability_reuse import sandwich_doc

pytestmark = pytest.mark.slow  # a Ray cluster, an MLflow server, real training and the real JPEG

TIMINGS = {"encode_s", "decode_s", "pre_s", "post_s"}  # wall-clock seconds: the only values two runs differ in


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(Ray address, MLflow server URL)."""
    tmp = tmp_path_factory.mktemp("servers")
    with mlflow_server(tmp) as url, ray_cluster() as address:
        yield address, url


def seeded_experiment(tmp: Path, data_dir: Path, name: str, steps: int = 2) -> Path:
    """Luma JPEG at four qualities and a 2-step sandwich wrapping it, trained with seeds 0 and 1, on three 48x48
    crops."""
    doc = sandwich_doc(tmp, data_dir, wraps="j400")
    doc["seeds"] = [0, 1]
    doc["methods"][0]["rate_points"] = [20, 40, 60, 80]
    s = doc["methods"][1]
    for net in ("pre", "post"):
        s[net] = {**s[net], "init": "conventional"}  # starts as j400 itself: BD has a curve to measure
    s["train"]["steps"] = steps
    del s["step_factors"]
    doc["name"] = name
    path = tmp / "sweep" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def bench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=900,
        env=worker_env(),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def cells(run_dir: Path) -> dict[str, Any]:
    """Every cell without its timings and MLflow ids; the meta without the training's seconds and the sha256 of
    final.pt, which records those seconds (the weights in it are compared tensor by tensor)."""
    out = {}
    for p in sorted(run_dir.glob("cells/*/*.json")):
        c = json.loads(p.read_text())
        c["rows"] = [{k: v for k, v in r.items() if k not in TIMINGS} for r in c["rows"]]
        for r in c["rows"]:
            r["extra"] = {k: v for k, v in r.get("extra", {}).items() if k not in TIMINGS}
        c["meta"].pop("train_seconds", None)
        c["meta"].pop("weights_sha256", None)
        for key in ("mlflow_run_id", "mlflow_parent"):
            c.pop(key, None)
        out[p.relative_to(run_dir).as_posix()] = c
    return out


def weights(out: Path) -> dict[str, dict[str, torch.Tensor]]:
    return {
        f.parent.name: torch.load(f, weights_only=True)["model"] for f in sorted(out.glob("models/sandwich/*/final.pt"))
    }


def runs(uri: str, experiment: str) -> dict[str, dict[str, float]]:
    """Each child run of the experiment's one parent run: its name and metrics (timings left out)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    found = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1
    children = [r for r in found if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    names = [r.info.run_name for r in children]
    assert len(names) == len(set(names)), names  # no child twice
    metrics = {
        r.info.run_name: {k: v for k, v in r.data.metrics.items() if k not in TIMINGS and "seconds" not in k}
        for r in children
        if not r.info.run_name.startswith("train:")
    }
    return {**metrics, **{n: {} for n in names if n.startswith("train:")}}


def test_ray_cluster_run_equals_local_run(servers: tuple[str, str], tmp_path: Path, data_dir: Path) -> None:
    address, url = servers
    cfg = seeded_experiment(tmp_path, data_dir, "same")
    local = Path(bench("run", str(cfg), "--out", str(tmp_path / "local"), cwd=tmp_path).stdout.splitlines()[-1])
    proc = bench(
        "run", str(cfg), "--out", str(tmp_path / "ray"), "--executor", "ray", "--address", address,
        "--tracking-uri", url, cwd=tmp_path,
    )  # fmt: skip
    remote = Path(proc.stdout.splitlines()[-1])
    assert "ray: 2 trainings and 12 cells as tasks" in proc.stderr
    assert not (tmp_path / "ray" / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()

    assert remote.name == local.name  # one config, one run folder name
    assert len(cells(local)) == 12  # j400 x 4, and s x 2 seeds x 4 steps
    assert cells(remote) == cells(local)
    w_local, w_ray = weights(tmp_path / "local"), weights(tmp_path / "ray")
    assert sorted(w_local) == sorted(w_ray) and len(w_local) == 2  # one model per seed, same store keys
    for model, tensors in w_local.items():
        assert all(torch.equal(t, w_ray[model][k]) for k, t in tensors.items()), model
    a, b = w_local.values()
    assert not all(torch.equal(t, b[k]) for k, t in a.items())  # the seeds train different models

    s_local, s_ray = (json.loads((d / "summary.json").read_text()) for d in (local, remote))
    for key in ("bd", "methods", "seeds", "vs_codecs"):
        assert s_ray.get(key) == s_local.get(key), key
    seeds = s_local["seeds"]["s"]["psnr-rgb"]
    assert seeds["seeds"] == [0, 1] and None not in seeds["bd_psnr_db"]
    assert seeds["bd_psnr_db"][0] != seeds["bd_psnr_db"][1]  # two seeds, two models, two figures
    assert seeds["bd_psnr_db_std"] > 0
    assert "seeds s: BD-quality on psnr-rgb" in proc.stderr

    from bench.tracking import default_tracking_uri

    mine, theirs = runs(default_tracking_uri(tmp_path / "local"), "same"), runs(url, "same")
    assert set(mine) == set(theirs) and len(mine) == 14  # 12 cells and 2 trainings
    assert mine == theirs


def _kill_training(deadline: float) -> int:
    """SIGKILL the first worker process that is training (its title is the task's name); return its pid."""
    while time.monotonic() < deadline:
        for p in psutil.process_iter(["pid", "cmdline"]):
            if (p.info["cmdline"] or [""])[0].startswith("ray::train killed"):
                p.send_signal(signal.SIGKILL)
                return p.info["pid"]
        time.sleep(0.02)
    raise AssertionError("no training task was seen running")


def test_killed_worker_is_retried_and_nothing_is_lost_or_duplicated(
    servers: tuple[str, str], tmp_path: Path, data_dir: Path
) -> None:
    address, url = servers
    cfg = seeded_experiment(tmp_path, data_dir, "killed", steps=60)  # trainings long enough to be caught running
    cmd = [
        sys.executable, "-m", "bench.cli", "sweep", str(cfg.parent), "--out", str(tmp_path / "runs"),
        "--address", address, "--tracking-uri", url,
    ]  # fmt: skip
    pipe = subprocess.PIPE
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=worker_env(), stdout=pipe, stderr=pipe, text=True)
    killed = _kill_training(time.monotonic() + 300)
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]
    assert killed not in {p.pid for p in psutil.process_iter()}  # it died; Ray ran its task again on a new worker
    run_dir = Path(out.splitlines()[-1])
    assert run_dir.parent.name == "killed"
    assert (run_dir / "summary.json").is_file()
    assert len(cells(run_dir)) == 12
    assert len(weights(tmp_path / "runs")) == 2
    found = runs(url, "killed")  # asserts no child run twice
    assert len(found) == 14
