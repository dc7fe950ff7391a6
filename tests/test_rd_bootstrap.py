"""Paired bootstrap CI over items: degenerate without spread, wider with noise, honest failures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.rd import bootstrap_bd

BASE_R = np.array([0.15, 0.3, 0.6, 1.2, 2.4])
N_ITEMS = 24


def _items(noise: float, seed: int = 1) -> tuple[np.ndarray, ...]:
    """Per-item anchor curves (items differ in difficulty) and a test at 0.9x rate with noise."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 2.0, size=(N_ITEMS, 1))
    ar = BASE_R * scale
    aq = 32.0 + 9.0 * np.log10(BASE_R) + rng.normal(0, 2.0, size=(N_ITEMS, 1))
    tr = 0.9 * ar * np.exp(rng.normal(0, noise, size=ar.shape))
    return ar, aq, tr, aq.copy()


def test_identical_items_give_a_zero_width_ci_at_the_point_estimate():
    ar = np.tile(BASE_R, (N_ITEMS, 1))
    aq = np.tile(32.0 + 9.0 * np.log10(BASE_R), (N_ITEMS, 1))
    ci = bootstrap_bd(ar, aq, 0.9 * ar, aq, n_boot=200)
    assert ci.point.bd_rate_pct == pytest.approx(-10.0, abs=1e-6)
    assert ci.bd_rate_ci[0] == ci.bd_rate_ci[1] == ci.point.bd_rate_pct
    assert ci.bd_psnr_ci[0] == ci.bd_psnr_ci[1] == ci.point.bd_psnr_db
    assert (ci.n_finite_rate, ci.n_finite_psnr, ci.reason) == (200, 200, None)


def test_ci_contains_point_estimate_and_widens_with_noise():
    widths = []
    for noise in (0.02, 0.2):
        ci = bootstrap_bd(*_items(noise), n_boot=500, seed=3)
        lo, hi = ci.bd_rate_ci
        assert ci.reason is None and ci.n_finite_rate == 500
        assert lo <= ci.point.bd_rate_pct <= hi
        assert ci.bd_psnr_ci[0] <= ci.point.bd_psnr_db <= ci.bd_psnr_ci[1]
        widths.append(hi - lo)
    assert 0 < widths[0] < widths[1] / 3  # 10x the per-item noise: a much wider interval


def test_seeded_and_reproducible():
    data = _items(0.1)
    a, b = bootstrap_bd(*data, n_boot=100, seed=7), bootstrap_bd(*data, n_boot=100, seed=7)
    assert a.bd_rate_ci == b.bd_rate_ci
    assert bootstrap_bd(*data, n_boot=100, seed=8).bd_rate_ci != a.bd_rate_ci


def test_too_few_finite_resamples_give_nan_ci_with_reason():
    # the test's 3rd and 4th points have nearly equal mean quality: about half of the
    # resampled mean curves are not monotone
    ar, aq, tr, tq = _items(0.02)
    rng = np.random.default_rng(0)
    tq[:, 3] = tq[:, 2] + 0.01 + rng.normal(0, 0.5, size=N_ITEMS)
    tq[:, 3] += 0.01 - (tq[:, 3] - tq[:, 2]).mean()  # mean step exactly +0.01 dB
    ci = bootstrap_bd(ar, aq, tr, tq, n_boot=300)
    assert ci.point.reason is None  # the full-sample curve is usable...
    assert 0 < ci.n_finite_rate < 0.9 * 300  # ...but many resamples are not
    assert all(math.isnan(x) for x in ci.bd_rate_ci)
    assert ci.reason.startswith(f"only {ci.n_finite_rate}/300 resamples gave a finite BD-rate")
    assert "not monotone" in ci.reason
    assert ci.to_dict()["bd_rate_ci"] == [None, None]


def test_pairing_requires_the_same_items():
    ar, aq, tr, tq = _items(0.1)
    with pytest.raises(ValueError, match="same items"):
        bootstrap_bd(ar, aq, tr[:-1], tq[:-1])


@pytest.mark.slow  # 1000 bootstrap resamples
def test_default_1000_resamples_are_all_finite():
    ci = bootstrap_bd(*_items(0.1))  # its speed target is a benchmark: benchmarks/speed.py
    assert ci.n_boot == 1000 and ci.n_finite_rate == 1000
