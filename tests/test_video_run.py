"""A tiny video experiment end to end through ``bench run``: real x265, real libvmaf, real MLflow.

x265 4:0:0 luma-only baseline and a 2-step video sandwich on 3 frames of a BasketballPass crop; the
rate axis is kbps from the real stream's bytes at the clip's real frame rate (50 fps).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow  # a real video `bench run` with training and x265

REPO = Path(__file__).resolve().parent.parent
QPS = [27, 32, 37, 42]
FPS, FRAMES = 50, 3


def tiny_video_config(path: Path) -> Path:
    doc = {
        "name": "tiny-video",
        "scenario": "gray400",
        "seed": 0,
        "data": {
            "eval": {
                "video": "${data}/video/BasketballPass_416x240_100f",
                "fps": FPS,
                "frames": FRAMES,
                "crop": [64, 96],
            },
            "train": {"video": ["${data}/video/foreman_176x144_30fps.yuv"]},
            "train_stills": {"set": "bsds500", "max_items": 2},
        },
        "evaluation": {"metrics": ["psnr-yuv", "psnr-rgb", "vmaf"], "anchor": "x265-400", "bootstrap": 20},
        "methods": [
            {
                "name": "x265-400",
                "kind": "codec",
                "codec": "x265",
                "adapt": "luma",
                "options": {"chroma": "400"},
                "rate_points": QPS,
            },
            {
                "name": "sandwich",
                "kind": "sandwich",
                "lambdas": [600],
                "step_factors": [0.7, 1.0, 1.4, 2.0],
                "pre": {"unet": False},
                "post": {"unet": False},
                "train": {"steps": 2, "batch": 1, "crop": 32, "check_every": 2, "log_every": 1},
                "video": {"frames": 3},
            },
        ],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def bench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.fixture(scope="module")
def video_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("video-run")
    cfg = tiny_video_config(tmp / "tiny.yaml")
    proc = bench("run", str(cfg), "--out", str(tmp / "runs"), cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    return tmp, Path(proc.stdout.strip().splitlines()[-1])


def test_results_are_in_kbps_from_real_stream_bytes(video_run) -> None:
    _, run_dir = video_run
    doc = json.loads((run_dir / "results/BasketballPass_416x240_100f/x265-400.json").read_text())
    kbps = doc["results"]["kbps"]
    assert len(kbps) == len(doc["results"]["psnr-yuv"]) == len(doc["results"]["vmaf"]) == len(QPS)
    assert kbps == sorted(kbps, reverse=True) and kbps[-1] > 0  # higher QP, fewer bits
    assert all("libx265" in c and "qp=" in c for c in doc["meta"]["commands"])
    assert doc["meta"]["codec"] == "x265" and doc["meta"]["chroma"] == "400" and "x265" in doc["meta"]["version"]
    for cell in (run_dir / "cells").rglob("*.json"):
        row = json.loads(cell.read_text())["rows"][0]
        assert row["kbps"] == pytest.approx(8 * row["nbytes"] * FPS / FRAMES / 1000)
        assert row["bpp"] == pytest.approx(8 * row["nbytes"] / (FRAMES * 64 * 96))
        assert len(row["per_frame"]["psnr-yuv"]) == FRAMES
    with open(run_dir / "points.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * len(QPS) and all(float(r["kbps"]) > 0 for r in rows)


def test_summary_plots_and_sandwich_sweep(video_run) -> None:
    _, run_dir = video_run
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["rate"] == "kbps" and s["anchor"] == "x265-400"
    assert {"kbps", "bpp", "psnr-yuv"} <= set(s["methods"]["sandwich"]["rd"])
    assert {(e["method"], e["metric"]) for e in s["bd"]} == {("sandwich", m) for m in ("psnr-yuv", "psnr-rgb", "vmaf")}
    for metric in ("psnr-yuv", "psnr-rgb", "vmaf"):
        assert (run_dir / "plots" / f"rd_{metric}.png").stat().st_size > 5000
    qps = [json.loads(c.read_text())["rows"][0]["qp"] for c in sorted((run_dir / "cells/sandwich.g600").glob("*.json"))]
    assert len(set(qps)) > 1  # the step factors sweep the real QP around the trained step
    assert (run_dir / "recon/sandwich.g600/1/BasketballPass_416x240_100f.bottleneck.png").is_file()


def test_proxy_rate_is_measured_against_the_real_stream(video_run) -> None:
    """Every sandwich cell holds the proxy's kbps for the same bottleneck and QP; summary.json pairs them."""
    _, run_dir = video_run
    fid = json.loads((run_dir / "summary.json").read_text())["proxy_fidelity"]["sandwich.g600"]
    pairs = fid["points_by_clip"]["BasketballPass_416x240_100f"]
    cells = sorted((run_dir / "cells/sandwich.g600").glob("*.json"))
    assert len(pairs) == len(cells) == fid["points"]
    assert sorted(p["x265_kbps"] for p in pairs) == sorted(json.loads(c.read_text())["rows"][0]["kbps"] for c in cells)
    ratios = [p["proxy_kbps"] / p["x265_kbps"] for p in pairs]
    assert fid["ratio_min"] == pytest.approx(min(ratios)) and fid["ratio_max"] == pytest.approx(max(ratios))
    assert all(0.2 < r < 10 for r in ratios)  # the same order as the real stream, not a constant
    # a higher QP costs fewer bits in the proxy too, and its decoded bottleneck stays near the real one
    by_qp = sorted(pairs, key=lambda p: p["qp"])
    assert by_qp[0]["proxy_kbps"] > by_qp[-1]["proxy_kbps"]
    assert all(p["proxy_b_psnr"] > 20 for p in pairs)


def test_mlflow_logs_kbps_and_training_data(video_run) -> None:
    from mlflow.tracking import MlflowClient

    tmp, _ = video_run
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp / 'runs' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("tiny-video").experiment_id], max_results=100)
    cells = [r for r in runs if "rate_point" in r.data.params]
    assert len(cells) == 2 * len(QPS) and all("kbps" in r.data.metrics for r in cells)
    train = next(r for r in runs if r.info.run_name == "train:sandwich.g600")
    assert "synthetic camera motion" in train.data.tags["train_data"]
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    contexts = {i.tags[0].value for i in parent.inputs.dataset_inputs}
    assert contexts == {"eval", "train", "train_stills"}


def test_rerun_resumes_every_cell(video_run) -> None:
    tmp, run_dir = video_run
    proc = bench("run", str(tmp / "tiny.yaml"), "--out", str(tmp / "runs"), cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    assert f"{2 * len(QPS)} finished cells reused, 0 computed" in proc.stderr
    assert Path(proc.stdout.strip().splitlines()[-1]) == run_dir
