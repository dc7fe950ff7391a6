"""MS-SSIM: properties, gradients, errors, and pytorch_msssim as an optional second oracle.

The MATLAB reference values are checked in test_metrics_calibration.py. pytorch_msssim is not a
project dependency (install it with ``pip install --no-deps pytorch-msssim``); without it that
one test skips.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from PIL import Image

from bench.errors import DataError
from bench.metrics.msssim import (
    MIN_SIDE,
    ms_ssim,
    ms_ssim_db,
    ms_ssim_gray,
    ms_ssim_rgb,
)


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


@pytest.fixture(scope="module")
def pair(kodim) -> tuple[np.ndarray, np.ndarray]:
    ref = kodim(7, crop=(256, 320))
    return ref, _jpeg(ref, 20)


def test_matches_pytorch_msssim(pair) -> None:
    pm = pytest.importorskip("pytorch_msssim")
    ref, dist = pair

    def to_t(im: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(im.astype(np.float64)).permute(2, 0, 1)[None]

    oracle = float(pm.ms_ssim(to_t(ref), to_t(dist), data_range=255))
    assert ms_ssim_rgb(ref, dist) == pytest.approx(oracle, abs=1e-5)


def test_quality_order_identity_and_db(pair) -> None:
    ref, _ = pair
    scores = [ms_ssim_rgb(ref, _jpeg(ref, q)) for q in (90, 50, 10)]
    assert 1.0 > scores[0] > scores[1] > scores[2] > 0.5
    assert ms_ssim_rgb(ref, ref) == pytest.approx(1.0, abs=1e-12)
    assert ms_ssim_db(1.0) == math.inf
    assert ms_ssim_db(0.99) == pytest.approx(20.0)


def test_symmetric_on_odd_sizes(kodim) -> None:
    ref = kodim(3, crop=(171, 203))
    dist = _jpeg(ref, 30)
    assert ms_ssim_rgb(ref, dist) == pytest.approx(ms_ssim_rgb(dist, ref), abs=1e-12)


def test_bit_depth_scales_the_data_range(pair) -> None:
    """x·257 in 16 bit is the same picture as x in 8 bit: MS-SSIM must not change."""
    ref, dist = pair
    r16, d16 = ref.astype(np.uint16) * 257, dist.astype(np.uint16) * 257
    assert ms_ssim_rgb(r16, d16, 16) == pytest.approx(ms_ssim_rgb(ref, dist), abs=1e-10)
    assert ms_ssim_gray(r16, d16, 16) == pytest.approx(ms_ssim_gray(ref, dist), abs=1e-3)


def test_gradient_is_finite_even_with_negative_terms(pair) -> None:
    ref, dist = pair
    x = torch.from_numpy(dist.astype(np.float32) / 255).permute(2, 0, 1)[None].requires_grad_()
    y = torch.from_numpy(ref.astype(np.float32) / 255).permute(2, 0, 1)[None]
    (1 - ms_ssim(x, y, 1.0)).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    inv = (1 - y).clone().requires_grad_()  # anti-correlated: contrast-structure terms < 0
    value = ms_ssim(inv, y, 1.0)
    value.sum().backward()
    assert float(value.detach()) == 0.0 and torch.isfinite(inv.grad).all()


def test_too_small_names_minimum_and_fix(kodim) -> None:
    small = kodim(1, crop=(MIN_SIDE - 1, 300))
    with pytest.raises(DataError, match=rf"at least {MIN_SIDE}x{MIN_SIDE}.*160x300.*larger"):
        ms_ssim_rgb(small, small)
    assert MIN_SIDE == 161
    big = kodim(1, crop=(MIN_SIDE, MIN_SIDE))
    assert ms_ssim_rgb(big, big) == pytest.approx(1.0)
