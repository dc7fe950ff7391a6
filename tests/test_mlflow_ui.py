"""What a researcher meets in MLflow after a real ``bench run``: descriptions, the BD table as parent metrics,
the address printed, and the runs table as headless Chromium renders it (scripts/mlflow_screenshot.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from bench.tracking import KIND_TAG, ML_KIND, NESTED_TAG, NOTE_TAG
from tests.test_run_e2e import REPO, bench, write_config

pytestmark = pytest.mark.slow  # a real `bench run` (and a real mlflow ui and browser)
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def described(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    tmp = tmp_path_factory.mktemp("described")
    cfg = write_config(
        tmp / "described.yaml",
        name="described",
        description="JPEG chroma formats on one photo",
        data={"eval": {"set": "skimage", "max_items": 1}},
        evaluation={"metrics": ["psnr-rgb", "ms-ssim-rgb"], "anchor": "j420", "bootstrap": 20},
    )
    doc = yaml.safe_load(cfg.read_text())
    doc["methods"][0]["description"] = "4:4:4, no chroma subsampling"
    cfg.write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = bench("run", str(cfg), "--out", str(tmp / "runs"), cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1]), proc


def test_the_store_holds_descriptions_the_bd_table_and_the_run_is_named(
    described: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    from mlflow.tracking import MlflowClient

    run_dir, proc = described
    state = json.loads((run_dir / "state.json").read_text())
    client = MlflowClient(tracking_uri=state["tracking_uri"])
    parent = client.get_run(state["mlflow_run_id"])
    exp = client.get_experiment(parent.info.experiment_id)
    assert exp.tags[KIND_TAG] == ML_KIND and exp.tags[NOTE_TAG] == "JPEG chroma formats on one photo"
    assert parent.data.tags[NOTE_TAG].startswith(
        "JPEG chroma formats on one photo\n\nScenario rgb; eval set skimage (1 item);"
    )
    children = client.search_runs([exp.experiment_id], f"tags.`{NESTED_TAG}` = '{parent.info.run_id}'")
    notes = {c.data.tags["method"]: c.data.tags.get(NOTE_TAG) for c in children}
    assert notes == {"j444": "4:4:4, no chroma subsampling", "j420": None, "j400": None}

    summary = json.loads((run_dir / "summary.json").read_text())
    m = parent.data.metrics
    (e444,) = [e for e in summary["bd"] if (e["method"], e["metric"]) == ("j444", "psnr-rgb")]
    assert m["bd_rate_pct.j444.psnr-rgb"] == pytest.approx(e444["bd_rate_pct"])
    assert m["bd_psnr_db.j444.psnr-rgb"] == pytest.approx(e444["bd_psnr_db"])
    assert [m["bd_rate_pct_ci_lo.j444.psnr-rgb"], m["bd_rate_pct_ci_hi.j444.psnr-rgb"]] == pytest.approx(
        e444["ci95"]["bd_rate_pct"]
    )
    assert [m["overlap_lo.j444.psnr-rgb"], m["overlap_hi.j444.psnr-rgb"]] == pytest.approx(e444["overlap"])
    assert "bd_rate_pct.j444.ms-ssim-rgb" in m and "bd_psnr_db.j444.ms-ssim-rgb" not in m  # not a dB metric
    # Luma-only JPEG never reaches the anchor's RGB PSNR: no BD-rate, and the tag says why.
    (e400,) = [e for e in summary["bd"] if (e["method"], e["metric"]) == ("j400", "psnr-rgb")]
    assert e400["bd_rate_pct"] is None and "bd_rate_pct.j400.psnr-rgb" not in m
    assert parent.data.tags["missing.bd_rate_pct.j400.psnr-rgb"] == e400["reason"]

    url = f"http://127.0.0.1:5000/#/experiments/{exp.experiment_id}/runs/{parent.info.run_id}"
    assert f"MLflow: {url}?workflowType=machine_learning (serve it with: bench ui {run_dir})" in proc.stderr


def _not_blank(png: Path) -> None:
    """A page, not a blank or a spinner: a fifth of the pixels off the background (a run page: about a quarter)."""
    img = np.asarray(Image.open(png).convert("RGB"))
    assert img.shape == (900, 1400, 3)
    colours, counts = np.unique(img.reshape(-1, 3), axis=0, return_counts=True)
    assert len(colours) > 200 and counts.max() < 0.8 * counts.sum(), f"{png} looks blank"


def test_headless_chromium_shows_the_runs_table_and_the_parent_run(
    described: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: no browser to screenshot the MLflow UI with")
    run_dir, _ = described
    shots = tmp_path / "shots"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "mlflow_screenshot.py"), str(run_dir), str(shots)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("runs", "run"):
        _not_blank(shots / f"{name}.png")
    runs_page, run_page = (shots / "runs.html").read_text(), (shots / "run.html").read_text()
    # The runs table (its header, the parent run's name, the experiment's description), not the GenAI overview.
    assert "Run Name" in runs_page and f"described-{run_dir.name}" in runs_page
    assert "JPEG chroma formats on one photo" in runs_page
    # The parent run's page: its description and its child runs (the newest first: the last method's).
    assert "Scenario rgb; eval set skimage (1 item)" in run_page and "j400@90" in run_page
