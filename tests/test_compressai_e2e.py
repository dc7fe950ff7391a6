"""`bench run` with a CompressAI method trained here: through the real CLI, real Kodak, real bytes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow  # trains and evaluates a CompressAI model through `bench run`

REPO = Path(__file__).resolve().parent.parent


def test_bench_run_trains_codes_and_writes_results(tmp_path: Path, data_dir: Path) -> None:
    doc = {
        "name": "cai-tiny",
        "scenario": "rgb",
        "seed": 0,
        "data": {"eval": {"set": "kodak"}, "train": {"set": "bsds500", "max_items": 4}},
        "evaluation": {"metrics": ["psnr-rgb"], "anchor": "j420", "bootstrap": 0, "visual_items": 0},
        "methods": [
            {
                "name": "j420",
                "kind": "codec",
                "codec": "jpeg",
                "options": {"mode": "rgb", "chroma": "420"},
                "rate_points": [20, 50],
            },
            {
                "name": "fact",
                "kind": "compressai",
                "arch": "bmshj2018-factorized",
                "qualities": [1, 4],
                "weights": "trained_here",
                "channels": [16, 24],
                "train": {"steps": 4, "batch": 2, "crop": 64},
            },
        ],
    }
    cfg = tmp_path / "cai.yaml"
    cfg.write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cli", "run", str(cfg), "--out", str(tmp_path / "runs"), "--max-items", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    res = json.loads((run_dir / "results" / "kodak" / "fact.json").read_text())
    assert res["name"] == "fact" and len(res["results"]["bpp"]) == len(res["results"]["psnr-rgb"]) == 2
    assert all(b > 0 for b in res["results"]["bpp"]) and all(p > 5 for p in res["results"]["psnr-rgb"])
    meta = res["meta"]
    assert meta["weights"] == "trained_here" and meta["train"]["steps"] == 4 and meta["arch"] == "bmshj2018-factorized"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["methods"]["fact"]["label"] == "bmshj2018-factorized 16/24ch (trained here, 4 steps)"
    assert summary["methods"]["fact"]["role"] == "learned"
    shared = sorted((tmp_path / "runs" / "models" / "compressai").glob("*.pt"))
    assert [p.name.rsplit("-", 1)[0] for p in shared] == ["bmshj2018-factorized-mse-q1", "bmshj2018-factorized-mse-q4"]
    rows = [r for r in (run_dir / "points.csv").read_text().splitlines()[1:] if r.startswith("fact,")]
    assert len(rows) == 4  # 2 qualities x 2 Kodak images

    # another experiment naming the same model and train set reuses the trained weights
    stamps = {p: p.stat().st_mtime_ns for p in shared}
    doc["name"] = "cai-other"
    doc["methods"][0]["rate_points"] = [30]
    cfg.write_text(yaml.safe_dump(doc, sort_keys=False))
    again = subprocess.run(
        [sys.executable, "-m", "bench.cli", "run", str(cfg), "--out", str(tmp_path / "runs"), "--max-items", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert again.returncode == 0, again.stderr
    assert {p: p.stat().st_mtime_ns for p in shared} == stamps
    assert len(list((tmp_path / "runs" / "models" / "compressai").glob("*.pt"))) == 2

    # a dry run says so before any work: both models reused, nothing to train, nothing written
    doc["name"] = "cai-dry"
    cfg.write_text(yaml.safe_dump(doc, sort_keys=False))
    dry = subprocess.run(
        [sys.executable, "-m", "bench.cli", "run", str(cfg), "--out", str(tmp_path / "runs"), "--dry-run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert dry.returncode == 0, dry.stderr
    assert sorted(ln for ln in dry.stdout.splitlines() if ln.startswith("  fact: ") and " -> " in ln) == [
        f"  fact: reuse -> {p}" for p in shared
    ]
    assert "estimate: training 0 s (0 steps)" in dry.stdout
    assert not (tmp_path / "runs" / "cai-dry").exists()
