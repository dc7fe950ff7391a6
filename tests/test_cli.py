"""The CLI surface: --help everywhere, doctor, list, metrics and bdrate end to end (in process, as the
``bench`` script runs them), and what only a separate process shows: its imports and its environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.metrics import METRICS

REPO = Path(__file__).resolve().parent.parent
COMMANDS = ["run", "doctor", "list", "metrics", "bdrate", "report", "ui", "proxy"]
HEAVY = ("torch", "matplotlib", "mlflow", "pandas", "scipy", "cv2", "lpips", "compressai")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(bench_app, command: str) -> None:
    res = bench_app(command, "--help")
    assert res.exit_code == 0, res.output
    assert "Usage:" in res.stdout and command in res.stdout


def test_top_level_help_lists_commands(bench_app) -> None:
    out = bench_app("--help").stdout
    assert all(c in out for c in COMMANDS)


def test_help_loads_no_heavy_library() -> None:
    """`bench --help` stays fast: commands import torch, mlflow, matplotlib ... only when they run."""
    code = (
        "import sys\nfrom bench.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print('heavy:', *(m for m in {HEAVY!r} if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "heavy:"


@pytest.mark.slow  # runs every component: torch, LPIPS, ffmpeg's encoders, MLflow, CompressAI
def test_doctor_reports_every_component_and_passes_here(bench_app) -> None:
    res = bench_app("doctor", env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    for component in (
        "torch",
        "ffmpeg libx265",
        "ffmpeg libvmaf",
        "libjpeg-turbo",
        "LPIPS weights",
        "MLflow",
        "CompressAI",
    ):
        assert component in res.stdout


@pytest.mark.slow  # a fresh interpreter: find_ffmpeg is cached per process
def test_doctor_fails_with_a_fix_when_ffmpeg_is_missing(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SANDWICH_FFMPEG": str(tmp_path / "no-ffmpeg"), "COLUMNS": "250"}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cli", "doctor"], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 1
    assert "MISSING" in proc.stdout and "SANDWICH_FFMPEG" in proc.stdout


def test_list_names_what_configs_can_use_with_descriptions(bench_app) -> None:
    """Every section lists its names with their one-line descriptions; metrics by the registry's keys, the
    spelling of result files, ``bench metrics`` and ``bench bdrate --metric``."""
    out = bench_app("list").stdout
    sections: dict[str, dict[str, str]] = {}
    for line in out.splitlines():
        if not line.startswith("  "):
            title = line.rstrip(":")
            sections[title] = {}
        else:
            name, _, text = line.strip().partition("  ")
            sections[title][name] = text.strip()
    assert list(sections["metrics"]) == METRICS.names()
    assert all(sections["metrics"][k].startswith(METRICS.get(k).description) for k in METRICS.names())
    assert sections["metrics"]["ms-ssim-rgb-db"].endswith("(images only)")
    codecs = next(v for k, v in sections.items() if k.startswith("codecs"))
    assert codecs["x265"].startswith("(inter) x265 HEVC") and codecs["jpeg"].startswith("(intra) ")
    assert sections["method kinds"]["sandwich"].startswith("The sandwich: one model per lambda")
    assert sections["scenarios"]["rgb420"] and sections["named datasets"]["kodak"]
    experiments = sections["experiments"]
    assert sorted(experiments) == sorted(f"experiments/{p.name}" for p in (REPO / "experiments").glob("*.yaml"))
    assert experiments["experiments/rgb.yaml"].endswith("[profiles: quick, long, zoo, full]")
    assert all(text for text in experiments.values())  # every shipped experiment says what it is


def test_version_names_the_package_and_the_commit(bench_app) -> None:
    from bench.provenance import git_sha

    res = bench_app("--version")
    assert res.exit_code == 0 and res.stdout == f"sandwich-bench 0.1.0 (git {git_sha()})\n"


def test_doctor_pyiqa_fix_installs_the_declared_extra() -> None:
    """The hint installs this checkout with its ``iqa`` extra, the one pyproject declares (pyiqa is opt-in)."""
    import re
    import tomllib

    from bench.doctor import run_checks

    fix = next(c.fix for c in run_checks() if c.component.startswith("pyiqa"))
    extra = re.search(r"-e '\.\[(\w+)\]'", fix)
    assert extra is not None, fix
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(dep.startswith("pyiqa") for dep in extras[extra.group(1)])


@pytest.mark.slow  # every metric, VMAF and both LPIPS nets included
def test_metrics_json_for_a_real_jpeg_pair(bench_app, tmp_path: Path, data_dir: Path) -> None:
    ref = data_dir / "kodak" / "kodim19.png"
    dist = tmp_path / "dist.png"
    Image.open(ref).convert("RGB").save(tmp_path / "d.jpg", quality=30)
    Image.open(tmp_path / "d.jpg").save(dist)
    res = bench_app("metrics", str(ref), str(dist), "--json")
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    assert set(m) - {"meta"} == set(METRICS.names())  # the registry's keys, as in result files
    assert all(isinstance(m[key], float) for key in METRICS.names())
    assert (
        25 < m["psnr-rgb"] < 35 and 0.9 < m["ms-ssim-rgb"] < 1 and 0 < m["lpips-alex"] < 0.5 and 40 < m["vmaf"] < 97.5
    )


def test_metrics_size_mismatch_is_one_line(bench_app, tmp_path: Path, data_dir: Path) -> None:
    ref = data_dir / "kodak" / "kodim19.png"
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(small)
    res = bench_app("metrics", str(ref), str(small))
    assert res.exit_code == 2 and res.stderr.startswith("error:") and len(res.stderr.strip().splitlines()) == 1


def test_bdrate_json_matches_published_pair(bench_app, data_dir: Path) -> None:
    ref = data_dir / "reference" / "compressai_kodak"
    res = bench_app("bdrate", str(ref / "jpeg.json"), str(ref / "bpg_444_x265_ycbcr.json"), "--json")
    assert res.exit_code == 0, res.output
    r = json.loads(res.stdout)
    assert r["reason"] is None and -65 < r["bd_rate_pct"] < -40 and r["bd_psnr_db"] > 3
    assert set(r) >= {"bd_rate_pct", "bd_rate_pct_akima", "bd_psnr_db", "overlap", "reason"}


def test_bdrate_takes_the_registry_key_and_its_axis(bench_app, data_dir: Path) -> None:
    """ms-ssim-rgb-db is derived from the files' ms-ssim-rgb and, as the registry says, BD'd in dB."""
    from bench.rd import bdrate_files

    ref = data_dir / "reference" / "compressai_kodak"
    files = ref / "jpeg.json", ref / "bpg_444_x265_ycbcr.json"
    res = bench_app("bdrate", *map(str, files), "--metric", "ms-ssim-rgb-db", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == bdrate_files(*files, metric="ms-ssim-rgb-db", higher_is_better=True, is_db=True)
