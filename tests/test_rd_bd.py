"""BD-rate / BD-PSNR: closed-form cases, every unusable-input reason, hull, orientation."""

from __future__ import annotations

import json
import math
import warnings

import bjontegaard
import numpy as np
import pytest

from bench.rd import bd

RATES = np.array([0.12, 0.25, 0.5, 0.9, 1.6, 2.7])
PSNR = 38.0 + 10.0 * np.log10(RATES) - 1.5 * np.log10(RATES) ** 2  # concave, like real codecs


def test_curve_against_itself_is_zero():
    r = bd(RATES, PSNR, RATES, PSNR)
    assert r.reason is None and r.bd_psnr_reason is None
    assert r.bd_rate_pct == pytest.approx(0.0, abs=1e-9)
    assert r.bd_rate_pct_akima == pytest.approx(0.0, abs=1e-9)
    assert r.bd_psnr_db == pytest.approx(0.0, abs=1e-9)
    assert r.overlap == pytest.approx((PSNR.min(), PSNR.max()))
    assert r.overlap_fraction == pytest.approx(1.0)
    assert (r.n_anchor, r.n_test) == (6, 6)


def test_rates_times_0_9_is_minus_10_percent():
    r = bd(RATES, PSNR, 0.9 * RATES, PSNR)
    assert r.bd_rate_pct == pytest.approx(-10.0, abs=1e-6)
    assert r.bd_rate_pct_akima == pytest.approx(-10.0, abs=1e-6)
    assert r.bd_psnr_db > 0


def test_one_db_shift_on_linear_log_rate_curve():
    slope = 9.0  # dB per decade of rate
    q = 30.0 + slope * np.log10(RATES)
    r = bd(RATES, q, RATES, q + 1.0)
    assert r.bd_psnr_db == pytest.approx(1.0, abs=1e-9)
    # equal quality needs 1/slope decades less rate: exactly 10**(-1/9) - 1
    assert r.bd_rate_pct == pytest.approx(100 * (10 ** (-1 / slope) - 1), abs=1e-9)
    # quality overlap is the anchor's range minus the 1 dB the test starts above it
    assert r.overlap == pytest.approx((q[0] + 1.0, q[-1]))


def test_package_against_closed_form_partial_overlap():
    """Linear curves are interpolated exactly by PCHIP and Akima, so BD has a closed form.

    Anchor: log10 R = (q - 30) / 10 on q in [28, 40]; test: log10 R = a + b q on q in [32, 44].
    BD-rate averages the log-rate gap over the common q in [32, 40]; BD-PSNR averages the
    quality gap over the common log-rate interval. Both integrals are of linear functions.
    """
    a, b = -3.2, 0.105
    qa = np.array([28.0, 31.0, 34.0, 37.0, 40.0])
    qt = np.array([32.0, 35.0, 38.0, 41.0, 44.0])
    ra, rt = 10 ** ((qa - 30) / 10), 10 ** (a + b * qt)
    lo, hi = 32.0, 40.0
    mean_gap = a + (b - 0.1) * (lo + hi) / 2 + 3.0
    l_lo, l_hi = a + b * qt[0], (qa[-1] - 30) / 10  # common log-rate interval
    mean_dq = (l_lo + l_hi) / 2 * (1 / b - 10) - a / b - 30
    r = bd(ra, qa, rt, qt)
    assert r.bd_rate_pct == pytest.approx(100 * (10**mean_gap - 1), abs=1e-9)  # -4.50 %
    assert r.bd_rate_pct_akima == pytest.approx(100 * (10**mean_gap - 1), abs=1e-9)
    assert r.bd_psnr_db == pytest.approx(mean_dq, abs=1e-9)  # +0.2 dB
    assert r.overlap == pytest.approx((lo, hi))
    assert r.overlap_fraction == pytest.approx(8 / 16)
    assert r.overlap_rate == pytest.approx((10**l_lo, 10**l_hi))


def test_package_readme_example_pchip_against_scipy_oracle():
    """The bjontegaard README data, checked against a direct scipy PCHIP + quad integral."""
    from scipy.integrate import quad
    from scipy.interpolate import PchipInterpolator

    ra = np.array([9487.76, 4593.60, 2486.44, 1358.24])
    qa = np.array([40.037, 38.615, 36.845, 34.851])
    rt = np.array([9787.80, 4469.00, 2451.52, 1356.24])
    qt = np.array([40.121, 38.651, 36.970, 34.987])
    fa = PchipInterpolator(qa[::-1], np.log10(ra[::-1]))
    ft = PchipInterpolator(qt[::-1], np.log10(rt[::-1]))
    lo, hi = max(qa.min(), qt.min()), min(qa.max(), qt.max())
    gap = quad(lambda x: ft(x) - fa(x), lo, hi)[0] / (hi - lo)
    r = bd(ra, qa, rt, qt)  # input in falling-rate order: bd() sorts it
    assert r.bd_rate_pct == pytest.approx(100 * (10**gap - 1), abs=1e-6)
    assert r.bd_rate_pct < 0.0  # the test preset has more PSNR at each of its (about equal) rates


def test_input_order_does_not_matter():
    perm = np.array([3, 0, 5, 1, 4, 2])
    r1 = bd(RATES, PSNR, 0.8 * RATES, PSNR + 0.3)
    r2 = bd(RATES[perm], PSNR[perm], (0.8 * RATES)[::-1], (PSNR + 0.3)[::-1])
    assert r1 == r2


@pytest.mark.parametrize(
    ("anchor", "test", "reason"),
    [
        ((RATES[:3], PSNR[:3]), (RATES, PSNR), "anchor has 3 points; BD needs at least 4"),
        ((RATES, PSNR), (RATES, PSNR + 30.0), "no overlap in quality"),
        ((RATES, np.r_[PSNR[:3], PSNR[2] - 0.1, PSNR[4:]]), (RATES, PSNR), "anchor not monotone: quality"),
        ((RATES, PSNR), (np.r_[RATES[:2], RATES[1], RATES[3:]], PSNR), "test not monotone: rate"),
        ((RATES, np.r_[PSNR[:2], np.nan, PSNR[3:]]), (RATES, PSNR), "anchor has non-finite values at points [2]"),
        ((RATES, PSNR), (np.r_[0.0, RATES[1:]], PSNR), "test has non-positive rates"),
    ],
)
def test_unusable_pairs_are_nan_with_reason(anchor, test, reason):
    r = bd(*anchor, *test)
    assert math.isnan(r.bd_rate_pct) and math.isnan(r.bd_rate_pct_akima)
    assert reason in r.reason
    assert r.to_dict()["bd_rate_pct"] is None
    json.dumps(r.to_dict(), allow_nan=False)  # JSON-safe


def test_no_rate_overlap_keeps_bd_rate_but_not_bd_psnr():
    # test reaches the anchor's qualities at a third of its rates: common quality, disjoint rates
    ra, qa = np.array([1.0, 1.5, 2.0, 3.0]), np.array([30.0, 32.0, 34.0, 36.0])
    rt, qt = np.array([0.2, 0.3, 0.4, 0.6]), np.array([31.0, 33.0, 35.0, 37.0])
    r = bd(ra, qa, rt, qt)
    assert r.reason is None and r.bd_rate_pct < -50
    assert math.isnan(r.bd_psnr_db) and r.bd_psnr_reason.startswith("no overlap in rate")


def test_min_overlap_rejects_thin_overlap():
    qa, qt = np.linspace(30, 38, 5), np.linspace(34, 42, 5)  # overlap 4 of a union of 12
    r = bd(10 ** (qa / 10 - 3), qa, 10 ** (qt / 10 - 3), qt, min_overlap=0.5)
    assert math.isnan(r.bd_rate_pct) and "below min_overlap" in r.reason
    assert r.overlap_fraction == pytest.approx(4 / 12)
    assert bd(10 ** (qa / 10 - 3), qa, 10 ** (qt / 10 - 3), qt).reason is None


def test_hull_rescues_non_monotone_curve_and_counts_points():
    rates = np.r_[RATES, 1.2]  # an extra point below its neighbours' quality: dominated
    quals = np.r_[PSNR, PSNR[3] - 0.2]
    assert "not monotone" in bd(rates, quals, RATES, PSNR).reason
    r = bd(rates, quals, 0.9 * RATES, PSNR, hull=True)
    assert r.reason is None and (r.n_anchor, r.n_test) == (6, 6)
    assert r.bd_rate_pct == pytest.approx(-10.0, abs=1e-6)  # the frontier is the original curve
    assert bd(RATES[:3].tolist() + [0.3], PSNR[:3].tolist() + [PSNR[0]], RATES, PSNR, hull=True).reason == (
        "anchor has 3 Pareto points; BD needs at least 4"
    )


def test_lower_is_better_metric():
    lpips = 0.5 / (1 + 3 * RATES)  # falls with rate
    r = bd(RATES, lpips, 0.9 * RATES, lpips, higher_is_better=False, is_db=False)
    assert r.bd_rate_pct == pytest.approx(-10.0, abs=1e-6)
    assert r.overlap == pytest.approx((lpips.min(), lpips.max()))  # in LPIPS units, lo < hi
    assert math.isnan(r.bd_psnr_db) and r.bd_psnr_reason == "not a dB metric"
    assert "not monotone" in bd(RATES, lpips, RATES, lpips).reason  # wrong orientation is caught


def test_package_warning_becomes_nan_with_reason(monkeypatch):
    def bd_rate(*args, **kwargs):
        warnings.warn("Curves do not overlap. BD cannot be calculated.", stacklevel=2)
        return float("nan")

    monkeypatch.setattr(bjontegaard, "bd_rate", bd_rate)
    r = bd(RATES, PSNR, RATES, PSNR)
    assert math.isnan(r.bd_rate_pct)
    assert r.reason == (
        "bjontegaard bd_rate (pchip) failed: UserWarning: Curves do not overlap. BD cannot be calculated."
    )
    assert r.bd_psnr_reason is None and r.bd_psnr_db == pytest.approx(0.0, abs=1e-9)
