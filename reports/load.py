"""Finished runs as the report sees them, read from their folder or from the MLflow parent run.

A run folder is preferred: only it holds the per-item cells and the saved reconstructions that
visual comparisons need. When only MLflow has the run (another machine, a deleted folder), the
parent run's artifacts (``summary.json``, ``points.csv``, ``results/``, ``config/``) are
downloaded and everything but the visual comparisons still works.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.errors import BenchError
from bench.records import Cell, Summary
from bench.results import cell_path

RUN_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class RunData:
    """One complete run: its summary, per-item points and where its files are."""

    root: Path  # the run folder, or the local copy of the parent run's artifacts
    summary: Summary
    points: list[dict[str, Any]]
    config: dict[str, Any] | None
    environment: dict[str, Any]
    tracking_uri: str | None
    local: bool  # root is the run folder itself: cells and reconstructions are there
    tag: str = ""  # short name that tells merged runs apart; set by the comparison
    _meta: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)  # results meta, read once

    @property
    def name(self) -> str:
        return f"{self.summary['experiment']}/{self.summary['run_id']}"

    @property
    def mlflow_run_id(self) -> str | None:
        return self.summary.get("mlflow_run_id")

    def results_path(self, method: str) -> Path | None:
        """The method's CompressAI-schema results file (measured methods and family members)."""
        folder = self.root / "results" / str(self.summary["dataset"])
        return next(
            (p for p in (folder / f"{method}.json", folder / "members" / f"{method}.json") if p.is_file()), None
        )

    def results_meta(self, method: str) -> dict[str, Any]:
        if method not in self._meta:
            path = self.results_path(method)
            self._meta[method] = json.loads(path.read_text()).get("meta") or {} if path else {}
        return self._meta[method]

    def members(self, method: str) -> list[str]:
        """A family's member methods (one learned model per lambda); empty for a plain method."""
        return list(self.results_meta(method).get("members") or [])

    def complexity(self, method: str) -> dict[str, Any]:
        """``meta.complexity`` of the method, else of its first member that recorded one; a run written before
        complexity was recorded still has the sandwich's parameter count (``meta.params``)."""
        names = (method, *self.members(method))
        for name in names:
            found = self.results_meta(name).get("complexity")
            if found:
                return found
        params = next((p for n in names if (p := self.results_meta(n).get("params")) is not None), None)
        return {} if params is None else {"params": params}

    def cells(self, method: str) -> list[Cell]:
        """The cells behind the method's curve, in curve order; empty unless the folder is local.

        A family's curve is its Pareto frontier over member cells (``meta.frontier``).
        """
        if not self.local:
            return []
        frontier = self.results_meta(method).get("frontier")
        ms = self.summary["methods"].get(method)
        rd = ms.get("rd", {}) if ms is not None else {}
        rate_points = rd.get("rate_point") or []
        where = [(f["member"], f["rate_point"]) for f in frontier] if frontier else [(method, rp) for rp in rate_points]
        paths = [cell_path(self.root, m, rp) for m, rp in where]
        return [Cell.from_json(json.loads(p.read_text())) for p in paths if p.is_file()]


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def read_points(path: Path) -> list[dict[str, Any]]:
    """points.csv rows with numeric columns as floats (empty cells stay empty strings)."""
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return [
            {
                k: (_number(v) if v not in ("", None) and k not in ("method", "role", "item") else v)
                for k, v in row.items()
            }
            for row in csv.DictReader(f)
        ]


def load_folder(root: Path, local: bool = True, tracking_uri: str | None = None) -> RunData:
    """A run folder (or a downloaded copy of its artifacts); refuses an unfinished run."""
    root = Path(root)
    summary_path = root / "summary.json"
    if not summary_path.is_file():
        status = read_json(root / "state.json").get("status", "unknown")
        raise BenchError(
            f"{root}: no summary.json, so the run has not finished (state.json: {status}); "
            "re-run the same `bench run` command to finish it (finished cells are reused)"
        )
    summary = json.loads(summary_path.read_text())
    state = read_json(root / "state.json")
    config_path = next((p for p in (root / "config.yaml", root / "config" / "config.yaml") if p.is_file()), None)
    env_path = next((p for p in (root / "environment.json", root / "config" / "environment.json") if p.is_file()), None)
    return RunData(
        root=root,
        summary=summary,
        points=read_points(root / "points.csv"),
        config=yaml.safe_load(config_path.read_text()) if config_path else None,
        environment=read_json(env_path) if env_path else {},
        tracking_uri=tracking_uri or state.get("tracking_uri"),
        local=local,
    )


def latest_in(folder: Path) -> Path:
    """``runs/<experiment>`` given instead of a run folder: its most recently finished run."""
    done = sorted(folder.glob("*/summary.json"), key=lambda p: p.stat().st_mtime)
    if not done:
        raise BenchError(
            f"{folder}: neither a run folder (no summary.json) nor an experiment folder holding a finished run"
        )
    return done[-1].parent


def is_run_folder(path: Path) -> bool:
    return (path / "summary.json").is_file() or (path / "state.json").is_file()


def resolve_folder(path: Path) -> RunData:
    """A run folder, or an experiment folder (its latest finished run)."""
    path = Path(path)
    return load_folder(path if is_run_folder(path) else latest_in(path))
