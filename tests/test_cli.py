"""The installed CLI surface: --help everywhere, doctor, list, metrics and bdrate end to end."""
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
COMMANDS = ["run", "doctor", "list", "metrics", "bdrate", "fidelity", "bench-proxy", "report", "ui"]


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"})


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    proc = cli(command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout and command in proc.stdout


def test_top_level_help_lists_commands() -> None:
    out = cli("--help").stdout
    assert all(c in out for c in COMMANDS)


def test_doctor_reports_every_component_and_passes_here() -> None:
    proc = cli("doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for component in ("torch", "ffmpeg libx265", "ffmpeg libvmaf", "libjpeg-turbo", "LPIPS weights", "MLflow",
                      "CompressAI"):
        assert component in proc.stdout


def test_doctor_fails_with_a_fix_when_ffmpeg_is_missing(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SANDWICH_FFMPEG": str(tmp_path / "no-ffmpeg"), "COLUMNS": "250"}
    proc = subprocess.run([sys.executable, "-m", "bench.cli", "doctor"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 1
    assert "MISSING" in proc.stdout and "SANDWICH_FFMPEG" in proc.stdout


def test_list_names_what_configs_can_use() -> None:
    out = cli("list").stdout
    for name in ("rgb", "jpeg (intra)", "hevc (intra)", "av1 (intra)", "jpeg12", "x265 (inter)", "av1-ld (inter)",
                 "psnr-rgb", "lpips-alex", "vmaf", "kodak", "skimage"):
        assert name in out
    metrics = next(line for line in out.splitlines() if line.startswith("metrics:"))
    assert metrics.split(": ", 1)[1].split(", ") == [k if k != "ms-ssim-rgb-db" else f"{k} (images only)"
                                                     for k in METRICS.names()]


def test_metrics_json_for_a_real_jpeg_pair(tmp_path: Path, data_dir: Path) -> None:
    ref = data_dir / "kodak" / "kodim19.png"
    dist = tmp_path / "dist.png"
    Image.open(ref).convert("RGB").save(tmp_path / "d.jpg", quality=30)
    Image.open(tmp_path / "d.jpg").save(dist)
    proc = cli("metrics", str(ref), str(dist), "--json")
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout)
    assert set(m) - {"meta"} == set(METRICS.names())  # the registry's keys, as in result files
    assert all(isinstance(m[key], float) for key in METRICS.names())
    assert 25 < m["psnr-rgb"] < 35 and 0.9 < m["ms-ssim-rgb"] < 1 and 0 < m["lpips-alex"] < 0.5 and 40 < m["vmaf"] < 97.5


def test_metrics_size_mismatch_is_one_line(tmp_path: Path, data_dir: Path) -> None:
    ref = data_dir / "kodak" / "kodim19.png"
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(small)
    proc = cli("metrics", str(ref), str(small))
    assert proc.returncode == 2 and proc.stderr.startswith("error:") and len(proc.stderr.strip().splitlines()) == 1


def test_bdrate_json_matches_published_pair(data_dir: Path) -> None:
    ref = data_dir / "reference" / "compressai_kodak"
    proc = cli("bdrate", str(ref / "jpeg.json"), str(ref / "bpg_444_x265_ycbcr.json"), "--json")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["reason"] is None and -65 < r["bd_rate_pct"] < -40 and r["bd_psnr_db"] > 3
    assert set(r) >= {"bd_rate_pct", "bd_rate_pct_akima", "bd_psnr_db", "overlap", "reason"}


def test_bdrate_takes_the_registry_key_and_its_axis(data_dir: Path) -> None:
    """ms-ssim-rgb-db is derived from the files' ms-ssim-rgb and, as the registry says, BD'd in dB."""
    from bench.rd import bdrate_files

    ref = data_dir / "reference" / "compressai_kodak"
    files = ref / "jpeg.json", ref / "bpg_444_x265_ycbcr.json"
    proc = cli("bdrate", *map(str, files), "--metric", "ms-ssim-rgb-db", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == bdrate_files(*files, metric="ms-ssim-rgb-db", higher_is_better=True, is_db=True)
