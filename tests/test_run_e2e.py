"""End to end through the real CLI: real JPEG, real metrics, a real MLflow sqlite store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
QUALITIES = [15, 30, 50, 75, 90]


def write_config(path: Path, **over) -> Path:
    doc = {
        "name": "tiny",
        "scenario": "rgb",
        "seed": 0,
        "data": {"eval": {"set": "skimage", "max_items": 2}},
        "evaluation": {"metrics": ["psnr-rgb", "ms-ssim-rgb"], "anchor": "j420", "bootstrap": 50},
        "methods": [
            {
                "name": "j444",
                "kind": "codec",
                "codec": "jpeg",
                "options": {"mode": "rgb", "chroma": "444"},
                "rate_points": QUALITIES,
            },
            {
                "name": "j420",
                "kind": "codec",
                "codec": "jpeg",
                "options": {"mode": "rgb", "chroma": "420"},
                "rate_points": QUALITIES,
            },
            {
                "name": "j400",
                "kind": "codec",
                "codec": "jpeg",
                "adapt": "luma",
                "options": {"mode": "gray"},
                "rate_points": QUALITIES,
            },
        ],
    }
    doc.update(over)
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
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    tmp = tmp_path_factory.mktemp("run")
    cfg = write_config(tmp / "tiny.yaml")
    proc = bench("run", str(cfg), "--out", str(tmp / "runs"), cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    return tmp, Path(proc.stdout.strip().splitlines()[-1]), proc


@pytest.mark.slow  # reads the module's real `bench run`
def test_run_writes_every_output(finished_run) -> None:
    tmp, run_dir, _ = finished_run
    assert run_dir.parent == tmp / "runs" / "tiny"
    assert not (tmp / "mlruns").exists(), "MLflow artifacts must live under --out, not the cwd"
    assert (tmp / "runs" / "mlartifacts" / "tiny").is_dir()
    for f in (
        "config.yaml",
        "experiment.yaml",
        "points.csv",
        "summary.json",
        "plots/rd_psnr-rgb.png",
        "results/skimage/j444.json",
        "results/skimage/j420.json",
        "results/skimage/j400.json",
    ):
        assert (run_dir / f).is_file(), f
    doc = json.loads((run_dir / "results/skimage/j444.json").read_text())
    assert doc["name"] == "j444"
    assert len(doc["results"]["bpp"]) == len(doc["results"]["psnr-rgb"]) == len(QUALITIES)
    assert doc["meta"]["config_hash"] and doc["meta"]["git_sha"] and doc["meta"]["version"]
    assert doc["meta"]["rate_points"] == QUALITIES and len(doc["meta"]["commands"]) == len(QUALITIES)
    bpp = doc["results"]["bpp"]
    assert bpp == sorted(bpp) and 0.2 < bpp[0] < bpp[-1] < 8  # real JPEG bytes rise with quality
    lines = (run_dir / "points.csv").read_text().strip().splitlines()
    assert len(lines) == 1 + 3 * len(QUALITIES) * 2


@pytest.mark.slow  # reads the module's real `bench run`
def test_summary_bd_and_physics(finished_run) -> None:
    _, run_dir, _ = finished_run
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["anchor"] == "j420"
    bd = {(e["method"], e["metric"]): e for e in s["bd"]}
    assert set(bd) == {(m, k) for m in ("j444", "j400") for k in ("psnr-rgb", "ms-ssim-rgb")}
    e = bd[("j444", "psnr-rgb")]
    assert e["role"] == "baseline" and e["reason"] is None and e["overlap"]
    lo, hi = e["ci95"]["bd_rate_pct"]
    assert lo <= e["bd_rate_pct"] <= hi
    # colour is missing from luma-only JPEG: it cannot reach 4:2:0's RGB-PSNR at high rate
    j400 = s["methods"]["j400"]["rd"]["psnr-rgb"]
    j420 = s["methods"]["j420"]["rd"]["psnr-rgb"]
    assert max(j400) < max(j420) - 3


@pytest.mark.slow  # reads the module's real `bench run`
def test_mlflow_parent_and_children(finished_run) -> None:
    from mlflow.tracking import MlflowClient

    tmp, run_dir, _ = finished_run
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp / 'runs' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("tiny")
    runs = client.search_runs([exp.experiment_id], max_results=100)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 3 * len(QUALITIES)
    p = parents[0]
    assert p.info.status == "FINISHED"
    assert p.data.tags["scenario"] == "rgb" and p.data.tags["dataset"] == "skimage"
    assert p.data.tags["config_hash"] and p.data.tags["git_sha"]
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {p.info.run_id}
    assert all("psnr-rgb" in c.data.metrics and "bpp" in c.data.metrics for c in children)
    arts = {a.path for a in client.list_artifacts(p.info.run_id)}
    assert {"config", "plots", "results", "summary.json", "points.csv"} <= arts
    assert p.inputs.dataset_inputs and p.inputs.dataset_inputs[0].dataset.name == "skimage"


@pytest.mark.slow  # reads the module's real `bench run`
def test_rerun_resumes_without_redoing(finished_run) -> None:
    tmp, run_dir, _ = finished_run
    cells = sorted((run_dir / "cells").rglob("*.json"))
    before = {c: c.stat().st_mtime_ns for c in cells}
    victim = run_dir / "cells" / "j420" / "50.json"
    victim.unlink()
    proc = bench("run", str(tmp / "tiny.yaml"), "--out", str(tmp / "runs"), cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    assert "14 finished cells reused, 1 computed" in proc.stderr
    assert victim.is_file()
    assert all(c.stat().st_mtime_ns == t for c, t in before.items() if c != victim)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp / 'runs' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("tiny")
    runs = client.search_runs([exp.experiment_id], max_results=100)
    assert len([r for r in runs if "mlflow.parentRunId" in r.data.tags]) == 3 * len(QUALITIES)


@pytest.mark.slow  # kills a real `bench run` and resumes it
def test_killed_run_resumes(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "tiny.yaml", data={"eval": {"set": "skimage"}})
    out = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "run", str(cfg), "--out", str(out)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    while proc.poll() is None and len(list(out.glob("tiny/*/cells/*/*.json"))) < 3:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = sorted(out.glob("tiny/*/cells/*/*.json"))
    assert 3 <= len(done) < 15, "the run should have been killed part-way"
    run_dir = done[0].parents[2]
    assert not (run_dir / "summary.json").exists()
    assert not (run_dir / "results").exists()
    stamps = {p: p.read_bytes() for p in done}
    again = bench("run", str(cfg), "--out", str(out), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"{len(done)} finished cells reused" in again.stderr
    assert all(
        p.read_bytes() == b or json.loads(p.read_text())["rows"] == json.loads(b)["rows"] for p, b in stamps.items()
    )
    assert (run_dir / "summary.json").is_file()
    assert len(list(run_dir.glob("cells/*/*.json"))) == 15


@pytest.mark.parametrize("case", ["typo", "missing_folder", "corrupt_image", "unknown_codec_option"])
def test_bad_input_is_one_line_and_leaves_nothing(bench_app, tmp_path: Path, data_dir: Path, case: str) -> None:
    if case == "typo":
        cfg = write_config(tmp_path / "x.yaml", evaluaton={"metrics": ["psnr-rgb"]})
        expect = "evaluaton: unknown key (did you mean 'evaluation'?)"
    elif case == "missing_folder":
        cfg = write_config(tmp_path / "x.yaml", data={"eval": {"folder": str(tmp_path / "nope")}})
        expect = "data folder not found"
    elif case == "corrupt_image":
        imgs = tmp_path / "imgs"
        imgs.mkdir()
        (imgs / "a.png").write_bytes((data_dir / "kodak" / "kodim01.png").read_bytes())
        (imgs / "b.png").write_bytes((data_dir / "kodak" / "kodim02.png").read_bytes()[:5000])
        cfg = write_config(tmp_path / "x.yaml", data={"eval": {"folder": str(imgs), "glob": "*.png"}})
        expect = "b.png"
    else:
        cfg = write_config(tmp_path / "x.yaml")
        doc = yaml.safe_load(cfg.read_text())
        doc["methods"][0]["options"]["chroma"] = "422"
        cfg.write_text(yaml.safe_dump(doc))
        expect = "methods.0 (j444).options"
    res = bench_app("run", str(cfg), "--out", str(tmp_path / "runs"))
    assert res.exit_code == 2, res.output  # an unexpected exception would end with 1
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and expect in errors[0], res.stderr
    assert not list((tmp_path / "runs").rglob("summary.json"))
    assert not list((tmp_path / "runs").rglob("cells"))
