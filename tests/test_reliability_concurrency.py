"""Runs that meet each other, get stopped, or find their store or folder changed (issue #18, items 3, 4, 7).

Everything is real: ``bench run`` subprocesses, real signals, a real MLflow sqlite store, real mounts
(a private mount namespace) for the full and read-only disks.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.test_run_e2e import REPO, bench, write_config

pytestmark = pytest.mark.slow  # real `bench run` processes, signals, stores and mounts


def tiny(path: Path, name: str = "tiny", qualities: tuple[int, ...] = (30, 75), items: int | None = 1) -> Path:
    """Two JPEG methods over ``qualities``: ``2 * len(qualities)`` cells, a few seconds."""
    methods = [
        {
            "name": n,
            "kind": "codec",
            "codec": "jpeg",
            "options": {"mode": "rgb", "chroma": c},
            "rate_points": list(qualities),
        }
        for n, c in (("j420", "420"), ("j444", "444"))
    ]
    data = {"eval": {"set": "skimage", **({"max_items": items} if items else {})}}
    return write_config(
        path,
        name=name,
        data=data,
        methods=methods,
        evaluation={"metrics": ["psnr-rgb"], "anchor": "j420", "bootstrap": 0},
    )


def start(cfg: Path, out: Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "run", str(cfg), "--out", str(out)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
    )


def wait_for(cond: Callable[[], object], what: str, proc: subprocess.Popen[str]) -> None:
    """Poll until ``cond`` holds; fail if ``proc`` ends first (a hang is pytest-timeout's to end)."""
    while not cond():
        if proc.poll() is not None:
            pytest.fail(f"the run ended before {what}: {proc.stderr.read()[-2000:]}")
        time.sleep(0.05)


def runs(out: Path, experiment: str) -> list:
    """Every run of ``experiment`` in the default store of ``out``."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], max_results=1000)


def parents(found: list) -> list:
    return [r for r in found if "mlflow.parentRunId" not in r.data.tags]


def one_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The single ``error:`` line of a run that failed the way a user can fix."""
    stderr = proc.stderr
    assert proc.returncode == 2, stderr
    assert "Traceback" not in stderr, stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def test_a_second_run_of_the_same_folder_is_refused(tmp_path: Path) -> None:
    cfg, out = tiny(tmp_path / "tiny.yaml"), tmp_path / "runs"
    first = start(cfg, out, tmp_path)
    wait_for(lambda: list(out.glob("tiny/*/state.json")), "state.json (lock held, parent run open)", first)
    first.send_signal(signal.SIGSTOP)  # hold it inside the run while the second one starts
    try:
        second = bench("run", str(cfg), "--out", str(out), cwd=tmp_path)
    finally:
        first.send_signal(signal.SIGCONT)
    line = one_error(second)
    assert f"already running (pid {first.pid})" in line and "tiny" in line
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    found = runs(out, "tiny")
    assert len(parents(found)) == 1 and parents(found)[0].info.status == "FINISHED"
    assert len(found) == 1 + 4  # one child per cell, none twice


def test_two_configs_start_together_into_a_fresh_store(tmp_path: Path) -> None:
    """Same experiment name, different configs (two run folders): the new store is created and migrated once."""
    out = tmp_path / "runs"
    procs = [
        start(tiny(tmp_path / "a.yaml", qualities=(30, 75)), out, tmp_path),
        start(tiny(tmp_path / "b.yaml", qualities=(40, 60, 80)), out, tmp_path),
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    found = runs(out, "tiny")
    tops = parents(found)
    assert len(tops) == 2 and {r.info.status for r in tops} == {"FINISHED"}
    kids = {p.info.run_id: sum(r.data.tags.get("mlflow.parentRunId") == p.info.run_id for r in found) for p in tops}
    assert sorted(kids.values()) == [4, 6]
    with sqlite3.connect(out / "mlflow.db") as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert len(con.execute("SELECT version_num FROM alembic_version").fetchall()) == 1
    con.close()


def test_sigterm_marks_the_run_killed_and_a_rerun_finishes_it(tmp_path: Path) -> None:
    cfg = tiny(tmp_path / "long.yaml", name="long", qualities=(15, 30, 50, 75, 90), items=None)  # 10 cells, 5 items
    out = tmp_path / "runs"
    proc = start(cfg, out, tmp_path)
    wait_for(lambda: list(out.glob("long/*/cells/*/*.json")), "a finished cell", proc)
    proc.send_signal(signal.SIGSTOP)
    assert proc.poll() is None, "the run should still be going"
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "terminated (SIGTERM)" in err and "re-run the same command" in err
    run_dir = next(out.glob("long/*"))
    assert json.loads((run_dir / "state.json").read_text())["status"] == "interrupted"
    found = runs(out, "long")
    (parent,) = parents(found)
    assert parent.info.status == "KILLED"
    assert "RUNNING" not in {r.info.status for r in found}  # no child left open
    done = len(list(run_dir.glob("cells/*/*.json")))
    assert 1 <= done < 10

    again = bench("run", str(cfg), "--out", str(out), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"{done} finished cells reused" in again.stderr
    found = runs(out, "long")
    assert [p.info.run_id for p in parents(found)] == [parent.info.run_id]  # the same parent, reopened and ended
    assert parents(found)[0].info.status == "FINISHED" and len(found) == 1 + 10


def test_sigterm_during_training_kills_the_training_child(tmp_path: Path) -> None:
    net = {"encoder": [4], "decoder": [4, 4], "alpha0": 1.0}
    cfg = write_config(
        tmp_path / "train.yaml",
        name="trainkill",
        scenario="gray400",
        data={"eval": {"set": "skimage", "max_items": 1}, "train": {"set": "bsds500", "max_items": 2}},
        evaluation={"metrics": ["psnr-rgb"], "anchor": "j400", "bootstrap": 0},
        methods=[
            {
                "name": "j400",
                "kind": "codec",
                "codec": "jpeg",
                "adapt": "luma",
                "options": {"mode": "gray"},
                "rate_points": [50],
            },
            {
                "name": "sandwich",
                "kind": "sandwich",
                "lambdas": [1.0],
                "pre": net,
                "post": net,
                "train": {
                    "steps": 100000,
                    "batch": 1,
                    "crop": 16,
                    "log_every": 1,
                    "check_every": 100000,
                    "checkpoint_every": 5,
                },
            },
        ],
    )
    out = tmp_path / "runs"
    proc = start(cfg, out, tmp_path)
    wait_for(lambda: list(out.glob("models/sandwich/*/checkpoint.pt")), "a training checkpoint", proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, err
    status = {r.info.run_name: r.info.status for r in runs(out, "trainkill")}
    assert status[next(n for n in status if n.startswith("train:sandwich"))] == "KILLED"
    assert status[next(n for n in status if n.startswith("trainkill-"))] == "KILLED"


def test_result_files_follow_the_umask(tmp_path: Path) -> None:
    """Run folder, store, artefacts and the report folder: 0644 files, 0755 folders under umask 022."""
    cfg, out = tiny(tmp_path / "tiny.yaml"), tmp_path / "runs"

    def umask_022(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bench.cli", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            preexec_fn=lambda: os.umask(0o022),
            env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
        )

    proc = umask_022("run", str(cfg), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    rep = umask_022("report", proc.stdout.strip().splitlines()[-1], "--format", "md", "--no-training", "--no-log")
    assert rep.returncode == 0, rep.stderr
    paths = list(out.rglob("*"))
    assert {"summary.json", "report.md"} <= {p.name for p in paths} and any(p.suffix == ".png" for p in paths)
    wrong = {
        str(p.relative_to(out)): oct(stat.S_IMODE(p.stat().st_mode))
        for p in paths
        if stat.S_IMODE(p.stat().st_mode) != (0o755 if p.is_dir() else 0o644)
    }
    assert not wrong
    assert not [p for p in paths if p.name.endswith(".tmp")]


@pytest.fixture
def finished(tmp_path: Path) -> tuple[Path, Path]:
    cfg, out = tiny(tmp_path / "tiny.yaml"), tmp_path / "runs"
    proc = bench("run", str(cfg), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return cfg, out


def test_a_moved_out_folder_resumes_in_its_new_place(finished: tuple[Path, Path], tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    cfg, out = finished
    (before,) = parents(runs(out, "tiny"))
    moved = tmp_path / "moved"
    out.rename(moved)
    proc = bench("run", str(cfg), "--out", str(moved), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "4 finished cells reused" in proc.stderr
    assert not out.exists(), "nothing may be written to the old place"
    found = runs(moved, "tiny")
    assert [p.info.run_id for p in parents(found)] == [before.info.run_id] and len(found) == 1 + 4
    parent = parents(found)[0]
    assert parent.info.status == "FINISHED" and parent.data.tags["run_dir"].startswith(str(moved))
    client = MlflowClient(tracking_uri=f"sqlite:///{moved / 'mlflow.db'}")
    assert client.get_experiment_by_name("tiny").artifact_location == (moved / "mlartifacts" / "tiny").as_uri()
    local = client.download_artifacts(parent.info.run_id, "summary.json", str(tmp_path))
    assert json.loads(Path(local).read_text())["mlflow_run_id"] == parent.info.run_id


def test_a_deleted_experiment_names_the_fix_and_the_fix_works(finished: tuple[Path, Path], tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    cfg, out = finished
    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
    client.delete_experiment(client.get_experiment_by_name("tiny").experiment_id)  # as the UI's delete does
    proc = bench("run", str(cfg), "--out", str(out), cwd=tmp_path)
    line = one_error(proc)
    assert "'tiny'" in line and "is deleted" in line
    assert (next(out.glob("tiny/*")) / "summary.json").is_file()
    fix = line[line.index("MLFLOW_TRACKING_URI=") :].split(")")[0]  # the restore command, as printed
    env_assign, *command = shlex.split(fix)
    key, value = env_assign.split("=", 1)
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    restored = subprocess.run(
        [str(mlflow_bin), *command[1:]],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, key: value},
        cwd=tmp_path,
    )
    assert command[0] == "mlflow" and restored.returncode == 0, restored.stderr
    again = bench("run", str(cfg), "--out", str(out), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    (parent,) = parents(runs(out, "tiny"))
    assert parent.info.status == "FINISHED"


def test_a_corrupt_store_is_one_line_and_keeps_the_summary(finished: tuple[Path, Path], tmp_path: Path) -> None:
    cfg, out = finished
    summary = next(out.glob("tiny/*/summary.json"))
    kept = summary.read_bytes()
    db = out / "mlflow.db"
    db.write_bytes(os.urandom(8192))
    proc = bench("run", str(cfg), "--out", str(out), cwd=tmp_path)
    line = one_error(proc)
    assert str(db) in line and f"mv {db}" in line
    assert summary.read_bytes() == kept
    db.rename(out / "mlflow.db.broken")  # the fix the line names
    again = bench("run", str(cfg), "--out", str(out), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    found = runs(out, "tiny")
    assert len(parents(found)) == 1 and parents(found)[0].info.status == "FINISHED" and len(found) == 1 + 4


def test_an_unreachable_tracking_server_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg, out = tiny(tmp_path / "tiny.yaml"), tmp_path / "runs"
    proc = bench("run", str(cfg), "--out", str(out), "--tracking-uri", f"http://127.0.0.1:{port}", cwd=tmp_path)
    line = one_error(proc)
    assert f"127.0.0.1:{port}" in line and "Connection refused" in line and "--tracking-uri" in line
    assert not list(out.rglob("state.json")) and not list(out.rglob("cells"))


def _in_private_mount(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``script`` (sh) as root of a new user + mount namespace: mounts there are invisible outside."""
    return subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
    )


@pytest.fixture(scope="module")
def can_mount() -> None:
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("unprivileged user namespaces are not available here (needed to mount a small or read-only disk)")


@pytest.mark.parametrize("size", ["600k", "1200k"])  # full while the store is created / while cells are written
def test_a_full_disk_is_one_line(can_mount: None, tmp_path: Path, size: str) -> None:
    cfg, disk = tiny(tmp_path / "tiny.yaml"), tmp_path / "disk"
    disk.mkdir()
    proc = _in_private_mount(
        'mount -t tmpfs -o size="$1" tmpfs "$2" && exec "$3" -m bench.cli run "$4" --out "$2/runs"',
        size,
        str(disk),
        sys.executable,
        str(cfg),
    )
    line = one_error(proc)
    assert "full" in line or "No space left" in line


def test_a_read_only_out_folder_is_one_line(can_mount: None, finished: tuple[Path, Path]) -> None:
    cfg, out = finished
    proc = _in_private_mount(
        'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec "$2" -m bench.cli run "$3" --out "$1"',
        str(out),
        sys.executable,
        str(cfg),
    )
    line = one_error(proc)
    assert str(out) in line and "Read-only file system" in line
