"""``bench run --dry-run`` on every experiment the repository ships, each profile it declares: the plan is
built (names, data, codec options checked), the cells, trainings and an estimate are listed, and nothing
is written: no run folder, no MLflow store."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
CASES = [
    (path.name, profile)
    for path in sorted((REPO / "experiments").glob("*.yaml"))
    for profile in [None, *(yaml.safe_load(path.read_text()).get("profiles") or {})]
]


@pytest.mark.slow  # builds every plan: reads every eval set (clips, HDR images) the experiments name
@pytest.mark.parametrize(("name", "profile"), CASES, ids=[f"{n}:{p or 'base'}" for n, p in CASES])
def test_dry_run_lists_the_plan_and_writes_nothing(bench_app, tmp_path: Path, name: str, profile: str | None) -> None:
    """A file whose inputs are missing here (the full profiles' published CompressAI weights, a zoo profile's
    models while the zoo has none) ends as one error line naming the missing file; every other lists its plan."""
    out = tmp_path / "runs"
    args = ["run", str(REPO / "experiments" / name), "--dry-run", "--out", str(out), "--device", "cpu"]
    res = bench_app(*args, *(["--profile", profile] if profile else []))
    assert not out.exists()
    if res.exit_code != 0:
        errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
        assert res.exit_code == 2 and len(errors) == 1 and res.stdout == "", res.output
        missing = "not found" in errors[0] or (profile == "zoo" and "has no model for" in errors[0])
        assert missing and "/" in errors[0], errors[0]  # says which file is missing, and where
        return
    lines = res.stdout.splitlines()
    assert lines[0].startswith(f"dry run of {REPO / 'experiments' / name}")
    assert any(line.startswith("cells: ") for line in lines)
    assert lines[-1].startswith("estimate: training ") and "an estimate from constants" in lines[-1]
    assert "(not created)" in lines[1]


def test_dry_run_names_the_missing_shared_data(bench_app, tmp_path: Path) -> None:
    """Without the shared data the dry run ends as one error line naming the folder it looked in."""
    empty = tmp_path / "no-data"
    empty.mkdir()
    res = bench_app(
        "run",
        str(REPO / "experiments" / "rgb.yaml"),
        "--dry-run",
        "--out",
        str(tmp_path / "runs"),
        env={"SANDWICH_DATA": str(empty)},
    )
    assert res.exit_code == 2
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(empty) in errors[0], res.stderr
    assert not (tmp_path / "runs").exists()


def test_dry_run_counts_the_cells_and_items(bench_app, tmp_path: Path) -> None:
    res = bench_app(
        "run", str(REPO / "experiments" / "quick.yaml"), "--dry-run", "--max-items", "2", "--out", str(tmp_path / "r")
    )
    assert res.exit_code == 0, res.output
    assert "cells: 14 (method x rate point), each over the 2 items" in res.stdout  # JPEG and sandwich x 7 qualities
    assert "sandwich.g1: train 800 steps" in res.stdout, res.stdout
    assert not (tmp_path / "r").exists()
