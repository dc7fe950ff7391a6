"""Real servers on loopback for the sweep tests: a Ray cluster (``ray start``: a head and a separate worker
node) and an ``mlflow server`` (sqlite backend with one server worker: CI has no PostgreSQL service)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKEN = secrets.token_hex(32)  # Ray 2.60 authenticates every node and driver: one token for this test session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_env() -> dict[str, str]:
    """What every process of a sweep gets: this checkout on the path, one thread each (as Ray gives a
    1-CPU task), so weights trained locally and on a worker come from the same float operations."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": TOKEN,
    }


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    while True:  # a hang is pytest-timeout's to end
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")


@contextmanager
def mlflow_server(tmp: Path) -> Iterator[str]:
    port = free_port()
    log = tmp / "mlflow-server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                str(BIN / "mlflow"),
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
            stderr=out,
            cwd=tmp,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/health", proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _ray(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ray"), *args], env=worker_env(), capture_output=True, text=True, timeout=180, check=False
    )


@contextmanager
def ray_cluster() -> Iterator[str]:
    """A head (1 CPU) and one worker node (1 CPU) started by ``ray start``, no dashboard (it needs more memory
    than a CI runner spares, and the sweep needs none); ``ray stop --force`` after."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    short = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # Ray's socket paths must stay under 108 bytes
    try:
        head = _ray(
            "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", "1",
            "--temp-dir", str(short), "--include-dashboard", "false",
        )  # fmt: skip
        if head.returncode:
            raise RuntimeError(f"ray start --head failed: {head.stderr[-2000:]}")
        worker = _ray("start", "--address", address, "--node-ip-address", "127.0.0.1", "--num-cpus", "1")
        if worker.returncode:
            raise RuntimeError(f"ray start (worker) failed: {worker.stderr[-2000:]}")
        while "/2.0 CPU" not in _ray("status", "--address", address).stdout:  # the worker node has joined
            time.sleep(1)
        yield address
    finally:
        _ray("stop", "--force")
        shutil.rmtree(short, ignore_errors=True)
