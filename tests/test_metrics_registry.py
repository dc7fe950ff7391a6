"""The METRICS registry, compute_metrics, and the optional pyiqa extras."""
from __future__ import annotations

import importlib.util
import io
import sys

import numpy as np
import pytest
from PIL import Image

from bench.errors import DataError
from bench.metrics import METRICS, compute_metrics
from bench.metrics.iqa_extra import available, extra_metrics
from bench.metrics.lpips import lpips_distance
from bench.metrics.msssim import ms_ssim_db, ms_ssim_rgb
from bench.metrics.psnr import psnr_rgb, psnr_y, psnr_yuv, psnr_yuv_pooled
from bench.metrics.vmaf import vmaf_image
from bench.registry import UnknownNameError

ALL = ("psnr-rgb", "psnr-y", "psnr-yuv", "psnr-yuv-pooled", "ms-ssim-rgb", "ms-ssim-rgb-db", "lpips-alex",
       "lpips-vgg", "vmaf", "vmaf-neg")


@pytest.fixture(scope="module")
def pair(kodim) -> tuple[np.ndarray, np.ndarray]:
    ref = kodim(13, crop=(176, 192))
    buf = io.BytesIO()
    Image.fromarray(ref).save(buf, "JPEG", quality=25)
    return ref, np.asarray(Image.open(buf).convert("RGB"))


def test_registry_declares_direction_and_units() -> None:
    assert METRICS.names() == sorted(ALL)
    lower = {k for k in ALL if not METRICS.get(k).higher_is_better}
    assert lower == {"lpips-alex", "lpips-vgg"}
    db = {k for k in ALL if METRICS.get(k).is_db}
    assert db == {"psnr-rgb", "psnr-y", "psnr-yuv", "psnr-yuv-pooled", "ms-ssim-rgb-db"}
    assert all(METRICS.get(k).unit == ("dB" if k in db else "") for k in ALL)


@pytest.mark.slow  # every metric, VMAF and both LPIPS nets included
def test_compute_metrics_equals_the_functions(pair) -> None:
    ref, dist = pair
    got = compute_metrics(ref, dist, ALL)
    assert list(got) == list(ALL)
    expected = {
        "psnr-rgb": psnr_rgb(ref, dist), "psnr-y": psnr_y(ref, dist),
        "psnr-yuv": psnr_yuv(ref, dist), "psnr-yuv-pooled": psnr_yuv_pooled(ref, dist), "ms-ssim-rgb": ms_ssim_rgb(ref, dist),
        "ms-ssim-rgb-db": ms_ssim_db(ms_ssim_rgb(ref, dist)),
        "lpips-alex": lpips_distance(ref, dist, "alex"), "lpips-vgg": lpips_distance(ref, dist, "vgg"),
        "vmaf": vmaf_image(ref, dist), "vmaf-neg": vmaf_image(ref, dist, model="vmaf_v0.6.1neg")}
    assert got == pytest.approx(expected, abs=1e-9)
    assert METRICS.get("psnr-y").compute(ref, dist) == expected["psnr-y"]


def test_bad_requests_fail_before_work(pair) -> None:
    ref, dist = pair
    with pytest.raises(UnknownNameError, match="unknown metric 'ssim'; choose from: lpips-alex"):
        compute_metrics(ref, dist[:10], ["psnr-rgb", "ssim"])
    with pytest.raises(DataError, match="differ in shape"):
        compute_metrics(ref, dist[:10], ["psnr-rgb"])


def test_pyiqa_absent_gives_no_extras(pair, monkeypatch: pytest.MonkeyPatch) -> None:
    ref, dist = pair
    monkeypatch.setitem(sys.modules, "pyiqa", None)  # how find_spec sees an uninstalled package
    assert available() is False
    assert extra_metrics(ref, dist) == {}


def test_this_environment_has_no_pyiqa(pair) -> None:
    """pyiqa must stay opt-in (non-commercial licence, imports torchvision)."""
    if importlib.util.find_spec("pyiqa") is not None:
        pytest.skip("pyiqa installed here by choice")
    assert not available() and extra_metrics(*pair) == {}
