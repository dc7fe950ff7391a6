"""``bench sweep``: several experiments, one Ray cluster, one tracking store; and choosing ``--executor``."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bench.config import load_config
from bench.errors import BenchError
from bench.progress import say
from bench.runner import RunOptions, run_experiment

if TYPE_CHECKING:
    from bench.ray_executor import RayExecutor


def executor_for(name: str, address: str | None, tracking_uri: str | None) -> RayExecutor | None:
    """The executor ``--executor`` names (None: local), after checking that its workers can reach the store."""
    if name == "local":
        if address is not None:
            raise BenchError("--address names a Ray cluster: add --executor ray")
        return None
    if name != "ray":
        raise BenchError(f"--executor must be local or ray, got {name!r}")
    if importlib.util.find_spec("ray") is None:
        raise BenchError("--executor ray: Ray is not installed; pip install 'sandwich-bench[ray]'")
    from bench.ray_executor import RayExecutor, ray_address_error

    why = ray_address_error(address, tracking_uri)
    if why:
        raise BenchError(why)
    return RayExecutor(address)


def experiment_files(paths: list[Path]) -> list[Path]:
    """The YAMLs named, a folder standing for its ``*.yaml`` (sorted); each is loaded here, so a bad one stops
    the sweep before any starts."""
    files: list[Path] = []
    for p in paths:
        found = sorted(p.glob("*.yaml")) if p.is_dir() else [p]
        if not found:
            raise BenchError(f"{p}: no *.yaml experiment in this folder")
        files += found
    for f in files:
        load_config(f)
    return list(dict.fromkeys(files))


def run_sweep(paths: list[Path], opts: RunOptions, address: str | None) -> tuple[list[Path], list[str]]:
    """Run every experiment through one Ray connection, one after another (each spreads its tasks over the
    cluster); one that fails is reported and the others still run. Returns (run folders, failures)."""
    files = experiment_files(paths)
    engine = executor_for("ray", address, opts.tracking_uri)
    assert engine is not None
    folders, failed = [], []
    try:
        for k, f in enumerate(files, 1):
            say(f"sweep {k}/{len(files)}: {f}")
            try:
                folders.append(run_experiment(f, replace(opts, profile=opts.profile, executor=engine)))
            except BenchError as exc:
                failed.append(f"{f}: {exc}")
                say(f"sweep: {f} failed: {exc}")
    finally:
        engine.close()
    return folders, failed
