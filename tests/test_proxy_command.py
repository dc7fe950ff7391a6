"""``bench proxy ...``: every subcommand on a tiny real input, in process, with one output convention."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SUBCOMMANDS = ["fidelity", "gradients", "speed", "loop-speed", "video-fidelity"]


def test_the_group_lists_every_subcommand(bench_app) -> None:
    res = bench_app("proxy", "--help")
    assert res.exit_code == 0 and all(name in res.stdout for name in SUBCOMMANDS)


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_has_help_and_json(bench_app, name: str) -> None:
    res = bench_app("proxy", name, "--help")
    assert res.exit_code == 0 and "--json" in res.stdout


def test_fidelity_json_table_and_a_bad_step_list(bench_app, crops_dir: Path) -> None:
    res = bench_app(
        "proxy",
        "fidelity",
        "--codec",
        "jpeg",
        "--data",
        str(crops_dir),
        "--steps",
        "8,16",
        "--max-items",
        "3",
        "--json",
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    for key in (
        "median_abs_rate_error_pct",
        "median_psnr_gap_db",
        "rate_correlation",
        "proxy_ms",
        "codec_ms",
        "per_item",
        "calibration_free",
        "predictive_rate_error_pct",
    ):
        assert key in payload
    assert payload["n_items"] == 3 and payload["steps"] == [8.0, 16.0]
    table = bench_app("proxy", "fidelity", "--data", str(crops_dir), "--steps", "8")
    assert table.exit_code == 0 and "PSNR gap" in table.stdout
    bad = bench_app("proxy", "fidelity", "--data", str(crops_dir), "--steps", "8,x")
    assert bad.exit_code == 2 and bad.stderr.startswith("error: --steps '8,x'") and "comma-separated" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_fidelity_without_images_is_one_error_line(bench_app, tmp_path: Path) -> None:
    res = bench_app("proxy", "fidelity", "--data", str(tmp_path))
    assert res.exit_code == 2 and res.stderr.startswith("error: no images")


def test_gradients_json_and_table(bench_app, crops_dir: Path) -> None:
    args = ("proxy", "gradients", "--data", str(crops_dir), "--steps", "8", "--max-items", "1", "--directions", "4")
    res = bench_app(*args, "--json")
    assert res.exit_code == 0, res.output
    grads = json.loads(res.stdout)
    assert grads["n_items"] == 1 and grads["directions"] == 4
    assert {"distortion_ste", "distortion_noise", "distortion_real", "rate_rounded", "rate_unrounded"} <= set(
        grads["per_step"][0]
    )
    table = bench_app(*args)
    assert table.exit_code == 0 and "gradient cosine" in table.stdout


@pytest.mark.slow  # times the proxy, its calibration and two U-Nets, twice
def test_speed_json_and_lines(bench_app) -> None:
    args = ("proxy", "speed", "--batch", "1", "--size", "16", "--repeats", "1")
    res = bench_app(*args, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["shape"] == [1, 3, 16, 16] and 0 < out["proxy_share"] < 1
    assert all(
        out[k] > 0
        for k in ("proxy_ms", "calibration_ms", "calibration_serial_ms", "proxy_calibration_free_ms", "rest_ms")
    )
    lines = bench_app(*args)
    assert lines.exit_code == 0 and "proxy share of the step" in lines.stdout


@pytest.mark.slow  # three training steps of a sandwich per mode
def test_loop_speed_times_every_mode(bench_app) -> None:
    res = bench_app("proxy", "loop-speed", "--batch", "1", "--crop", "32", "--repeats", "1", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["crop"] == 32 and all(out[f"{m}_ms"] > 0 for m in ("proxy", "real", "real_ste"))


def test_video_fidelity_on_two_frames_of_foreman(bench_app) -> None:
    args = ("proxy", "video-fidelity", "--clips", "foreman", "--frames", "2", "--qps", "27,37", "--rates", "laplacian")
    res = bench_app(*args, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["frames"] == 2 and list(out["summary"]) == ["laplacian"]
    assert [r["qp"] for r in out["results"]["foreman"]] == [27, 37] and out["summary"]["laplacian"]["points"] == 2
    assert out["summary"]["laplacian"]["pearson_log"] is None  # two points: no correlation (NaN in strict JSON)
    lines = bench_app(*args)
    assert lines.exit_code == 0 and "QP 27" in lines.stdout and "r(log)=" in lines.stdout


def test_video_fidelity_names_the_clips_it_knows(bench_app) -> None:
    res = bench_app("proxy", "video-fidelity", "--clips", "akiyo")
    assert res.exit_code == 2 and res.stderr.startswith("error: --clips 'akiyo': choose from BasketballPass")


def test_video_loop_speed_times_every_mode_through_real_x265(bench_app) -> None:
    args = ("--video", "--batch", "1", "--crop", "32", "--frames", "2", "--repeats", "1", "--json")
    res = bench_app("proxy", "loop-speed", *args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["frames"] == 2 and "x265" in out["codec"]
    assert all(out[f"{m}_ms"] > 0 for m in ("proxy", "real", "real_ste"))
