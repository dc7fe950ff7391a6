"""Wall time of one experiment run locally against the same run on a 2-node Ray cluster here, and Ray's
scheduling overhead per task (issue #19).

    PYTHONPATH=. python benchmarks/ray_sweep.py [EXPERIMENT.yaml]   # default experiments/quick.yaml

Starts an ``mlflow server`` and a head and a worker node on 127.0.0.1 (1 CPU each, as ``tests/clusters.py``), runs
``bench run`` with each executor into its own fresh ``--out``, both logging to the server,
then times empty tasks: one at a time (submit -> result, the latency a dependent task pays) and 200 at once
(the cluster's throughput). Prints one JSON object.

Measured here (2 shared cores, 2026-12-07): experiments/quick.yaml (21 JPEG cells) 40.4 s local, 26.0 s on the
2-node cluster; an empty task 1.75 ms submit-to-result, 0.54 ms each when 200 are in flight.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.clusters import mlflow_server, ray_cluster, worker_env  # noqa: E402 - after the checkout is on the path


def _run(experiment: Path, out: Path, *extra: str) -> float:
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "bench.cli", "run", str(experiment), "--out", str(out), *extra]
    proc = subprocess.run(cmd, cwd=REPO, env=worker_env(), capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    return time.perf_counter() - t0


def _noop() -> None:
    """An empty task: all its time is scheduling."""


def _overhead(address: str) -> dict[str, float]:
    """Run in a driver process of its own, with the cluster's environment (as ``bench run`` is)."""
    code = f"import sys; sys.path.insert(0, {str(REPO)!r}); from benchmarks.ray_sweep import timed; timed({address!r})"
    proc = subprocess.run([sys.executable, "-c", code], env=worker_env(), capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout.splitlines()[-1])


def timed(address: str) -> None:
    """Empty tasks one at a time, then 200 at once; prints the figures as JSON."""
    import ray

    ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1)(_noop)
        ray.get([task.remote() for _ in range(4)])  # the workers started
        n = 50
        t0 = time.perf_counter()
        for _ in range(n):
            ray.get(task.remote())
        serial = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        ray.get([task.remote() for _ in range(200)])
        batch = (time.perf_counter() - t0) / 200
    finally:
        ray.shutdown()
    print(json.dumps({"task_latency_ms": 1000 * serial, "task_throughput_ms_per_task": 1000 * batch}))


def main() -> None:
    experiment = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "experiments" / "quick.yaml").resolve()
    with tempfile.TemporaryDirectory() as tmp, mlflow_server(Path(tmp)) as url:
        local = _run(experiment, Path(tmp) / "local", "--tracking-uri", url)
        with ray_cluster() as address:
            ray_args = ("--executor", "ray", "--address", address, "--tracking-uri", url)
            remote = _run(experiment, Path(tmp) / "ray", *ray_args)
            overhead = _overhead(address)
    print(json.dumps({"experiment": str(experiment), "local_s": local, "ray_2_nodes_s": remote, **overhead}))


if __name__ == "__main__":
    main()
