"""The image proxy against the real codec on small real images (the ``bench proxy`` commands, the
speed benchmarks included, are in test_proxy_command.py)."""

from __future__ import annotations

import pytest

from bench.errors import BenchError, DataError
from sandwich.diagnostics.fidelity import run_fidelity
from sandwich.diagnostics.proxy_speed import SlimUNet


def test_run_fidelity_jpeg(crops_dir):
    res = run_fidelity("jpeg", crops_dir, [4.0, 16.0, 32.0], None)
    assert res["n_items"] == 3 and len(res["per_item"]) == 9 and res["codec_params"] == [4, 16, 32]
    assert res["median_abs_rate_error_pct"] < 1e-3  # calibrated on the item: ~0 by construction
    assert res["median_psnr_gap_db"] < 0.3
    pred = res["predictive_rate_error_pct"]
    assert 0 < pred["other_images_same_step"] < 50 and 0 < pred["same_image_other_steps"] < 50
    assert res["calibration_free"]["laplacian"]["median_abs_rate_error_pct"] < 50
    assert res["proxy_ms"] > 0 and res["codec_ms"] > 0
    first = res["per_item"][0]
    assert first["real_bits"] > first["header_bits"] > 0 and first["psnr_real"] > 30


def test_run_fidelity_hevc_and_max_items(crops_dir):
    res = run_fidelity("hevc", crops_dir, [8.0, 32.0], 2)
    assert res["n_items"] == 2 and res["codec_params"] == [22, 34]
    assert res["rate_correlation"] is None  # fewer than 3 images: no correlation claimed
    bits = [r["real_bits"] for r in res["per_item"] if r["item"] == "kodim03.png"]
    assert bits[0] > bits[1]


def test_fidelity_errors(crops_dir, tmp_path):
    with pytest.raises(BenchError, match="choose from: jpeg, hevc"):
        run_fidelity("webp", crops_dir, [8.0], None)
    with pytest.raises(BenchError, match=">= 1"):
        run_fidelity("jpeg", crops_dir, [0.5], None)
    with pytest.raises(DataError, match="not found"):
        run_fidelity("jpeg", tmp_path / "nope", [8.0], None)
    with pytest.raises(DataError, match="no images"):
        run_fidelity("jpeg", tmp_path, [8.0], None)


def test_slim_unet_has_the_papers_parameter_count():
    assert sum(p.numel() for p in SlimUNet(3).parameters()) == 57_219
