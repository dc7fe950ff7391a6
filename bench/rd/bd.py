"""Bjøntegaard deltas between two RD curves, via the ``bjontegaard`` package, never silently.

Conventions (METHOD.md §8):

* **Integral:** the package's; we only prepare the curves and decide when a number is usable.
  BD-rate interpolates log10(rate) over quality and averages over the quality interval both
  curves cover; BD-PSNR interpolates quality over log10(rate) and averages over the common
  log-rate interval. PCHIP is the reported figure, Akima the cross-check. Akima does not
  preserve monotonicity, so a near-flat quality step can send it far from PCHIP: a large gap
  between the two flags such a curve.
* **Usable curves:** finite values, positive rates, ≥ 4 points, and, sorted by rate, strictly
  increasing rate and quality. Otherwise every value is NaN and ``reason`` says why. With
  ``hull=True`` each curve is first reduced to its **Pareto frontier** (non-dominated points,
  :func:`bench.rd.pareto.pareto_front`), not the convex hull: that is the smallest change that
  makes a curve monotone and keeps every efficient point; ``n_anchor``/``n_test`` count the
  points kept.
* **Orientation:** ``higher_is_better=False`` (LPIPS) negates quality before anything else, so
  the curves rise with rate; overlaps are still reported in the metric's own units.
* **BD-PSNR** is the mean quality gain in dB (positive: test better). It is only filled for dB
  metrics (``is_db=True``: PSNR, MS-SSIM-dB, LPIPS-PSNR); otherwise NaN with reason
  ``not a dB metric``, because a mean difference of, say, MS-SSIM values is not what the name
  promises.
* **Overlap fraction** = length of the common interval / length of the union of both curves'
  intervals (the package's own definition), in quality units for BD-rate and in log10 rate for
  BD-PSNR. 1.0: both cover the same range. An empty overlap is always NaN; ``min_overlap``
  rejects thin ones (the package's own warning threshold, 0.75, is off: we decide here).
* Anything the package raises or warns becomes NaN with the message as the reason.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import bjontegaard
import numpy as np
from numpy.typing import ArrayLike

from bench.rd.pareto import pareto_front

MIN_POINTS = 4
NAN = float("nan")


@dataclass(frozen=True)
class BDResult:
    """One anchor/test comparison. NaN values always come with their reason."""

    bd_rate_pct: float
    bd_rate_pct_akima: float
    bd_psnr_db: float
    overlap: tuple[float, float] | None  # quality interval of the BD-rate integral, metric units
    overlap_fraction: float  # overlap / union of the two quality ranges
    overlap_rate: tuple[float, float] | None  # rate interval of the BD-PSNR integral
    overlap_rate_fraction: float  # overlap / union of the two log10-rate ranges
    n_anchor: int  # points used (after the Pareto frontier when hull=True), or given if refused
    n_test: int
    reason: str | None  # why bd_rate_pct (and akima) is NaN; None when computed
    bd_psnr_reason: str | None  # why bd_psnr_db is NaN; None when computed

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: NaN and infinities become None, tuples lists."""
        return {k: _json_safe(v) for k, v in asdict(self).items()}


def _json_safe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, tuple):
        return [_json_safe(x) for x in v]
    return v


class _Unusable(Exception):
    """A curve or pair that BD cannot be computed on; the message is the reason."""


def _prepare(name: str, rates: ArrayLike, quals: ArrayLike, hull: bool) -> tuple[np.ndarray, np.ndarray]:
    """Validate one curve and return it sorted by rate (Pareto frontier first if ``hull``)."""
    r = np.asarray(rates, dtype=float)
    q = np.asarray(quals, dtype=float)
    if r.ndim != 1 or r.shape != q.shape:
        raise ValueError(f"{name}: rates and qualities must be 1-D of equal length, got {r.shape}, {q.shape}")
    bad = np.flatnonzero(~(np.isfinite(r) & np.isfinite(q)))
    if bad.size:
        raise _Unusable(f"{name} has non-finite values at points {bad.tolist()}")
    if (r <= 0).any():
        raise _Unusable(f"{name} has non-positive rates {r[r <= 0].tolist()} (log-rate undefined)")
    if hull:
        keep = pareto_front(r, q)
        r, q = r[keep], q[keep]
    if len(r) < MIN_POINTS:
        what = "Pareto points" if hull else "points"
        raise _Unusable(f"{name} has {len(r)} {what}; BD needs at least {MIN_POINTS}")
    order = np.argsort(r, kind="stable")
    r, q = r[order], q[order]
    dup = np.flatnonzero(np.diff(r) <= 0)
    if dup.size:
        raise _Unusable(
            f"{name} not monotone: rate {r[dup[0]]:g} appears twice (pass hull=True to use its Pareto frontier)"
        )
    drop = np.flatnonzero(np.diff(q) <= 0)
    if drop.size:
        i = drop[0]
        raise _Unusable(
            f"{name} not monotone: quality does not rise from rate {r[i]:g} to "
            f"{r[i + 1]:g} ({q[i]:g} -> {q[i + 1]:g}; pass hull=True to use its "
            "Pareto frontier)"
        )
    return r, q


def _overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Common interval (lo, hi) of two sorted axes and its length over their union's."""
    lo, hi = max(a[0], b[0]), min(a[-1], b[-1])
    union = max(a[-1], b[-1]) - min(a[0], b[0])
    return float(lo), float(hi), float(max(hi - lo, 0.0) / union) if union > 0 else 0.0


def _check_overlap(axis: str, fraction: float, min_overlap: float, ranges: str) -> None:
    """Refuse an empty overlap always, a thin one when the caller set ``min_overlap``."""
    if fraction <= 0:
        raise _Unusable(f"no overlap in {axis}: {ranges}")
    if fraction < min_overlap:
        raise _Unusable(f"{axis} overlap {fraction:.2f} of the union is below min_overlap {min_overlap:.2f}")


def _span(q: np.ndarray, sign: float) -> str:
    """A curve's quality range in the metric's own units, for messages."""
    lo, hi = sorted((sign * q[0], sign * q[-1]))
    return f"[{lo:g}, {hi:g}]"


def _call(fn: Callable[..., float], *args: np.ndarray, method: str) -> float:
    """One package call; its warnings and errors become ``_Unusable``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            value = float(fn(*args, method=method, require_matching_points=False, min_overlap=0.0))
    except Exception as exc:  # the package signals bad input by warning or raising anything
        raise _Unusable(f"bjontegaard {fn.__name__} ({method}) failed: {type(exc).__name__}: {exc}") from None
    if not math.isfinite(value):
        raise _Unusable(f"bjontegaard {fn.__name__} ({method}) returned {value}")
    return value


def bd(
    anchor_rate: ArrayLike,
    anchor_quality: ArrayLike,
    test_rate: ArrayLike,
    test_quality: ArrayLike,
    *,
    higher_is_better: bool = True,
    is_db: bool = True,
    hull: bool = False,
    min_overlap: float = 0.0,
) -> BDResult:
    """BD-rate (PCHIP and Akima, %) and BD-PSNR (dB) of test against anchor.

    Negative BD-rate / positive BD-PSNR: the test needs fewer bits / gives more quality.
    """
    return _bd(
        anchor_rate,
        anchor_quality,
        test_rate,
        test_quality,
        higher_is_better=higher_is_better,
        is_db=is_db,
        hull=hull,
        min_overlap=min_overlap,
        akima=True,
    )


def _bd(
    anchor_rate: ArrayLike,
    anchor_quality: ArrayLike,
    test_rate: ArrayLike,
    test_quality: ArrayLike,
    *,
    higher_is_better: bool,
    is_db: bool,
    hull: bool,
    min_overlap: float,
    akima: bool,
) -> BDResult:
    """:func:`bd` with the Akima figure optional (NaN when skipped), for the bootstrap's speed."""
    sign = 1.0 if higher_is_better else -1.0
    n_a, n_t = int(np.size(anchor_rate)), int(np.size(test_rate))
    try:
        ra, qa = _prepare("anchor", anchor_rate, sign * np.asarray(anchor_quality, dtype=float), hull)
        rt, qt = _prepare("test", test_rate, sign * np.asarray(test_quality, dtype=float), hull)
    except _Unusable as exc:
        return BDResult(NAN, NAN, NAN, None, NAN, None, NAN, n_a, n_t, str(exc), str(exc))
    n_a, n_t = len(ra), len(rt)

    q_lo, q_hi, q_frac = _overlap(qa, qt)
    r_lo, r_hi, r_frac = _overlap(np.log10(ra), np.log10(rt))
    rate_pct = rate_akima = psnr_db = NAN
    reason = psnr_reason = None
    try:
        _check_overlap("quality", q_frac, min_overlap, f"anchor {_span(qa, sign)}, test {_span(qt, sign)}")
        rate_pct = _call(bjontegaard.bd_rate, ra, qa, rt, qt, method="pchip")
        rate_akima = _call(bjontegaard.bd_rate, ra, qa, rt, qt, method="akima") if akima else NAN
    except _Unusable as exc:
        rate_pct = rate_akima = NAN
        reason = str(exc)
    try:
        if not is_db:
            raise _Unusable("not a dB metric")
        _check_overlap("rate", r_frac, min_overlap, f"anchor [{ra[0]:g}, {ra[-1]:g}], test [{rt[0]:g}, {rt[-1]:g}]")
        psnr_db = _call(bjontegaard.bd_psnr, ra, qa, rt, qt, method="pchip")
    except _Unusable as exc:
        psnr_reason = str(exc)

    q_overlap = sorted((float(sign * q_lo), float(sign * q_hi)))
    return BDResult(
        bd_rate_pct=rate_pct,
        bd_rate_pct_akima=rate_akima,
        bd_psnr_db=psnr_db,
        overlap=(q_overlap[0], q_overlap[1]) if q_frac > 0 else None,
        overlap_fraction=q_frac,
        overlap_rate=(float(10**r_lo), float(10**r_hi)) if r_frac > 0 else None,
        overlap_rate_fraction=r_frac,
        n_anchor=n_a,
        n_test=n_t,
        reason=reason,
        bd_psnr_reason=psnr_reason,
    )
