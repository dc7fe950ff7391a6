"""Paired bootstrap CI of BD-rate / BD-PSNR over items (images or clips).

Each resample draws items with replacement, the same draw for anchor and test (paired: both
were measured on the same items), averages per rate point over the drawn items (CompressAI
style: mean of per-item bpp, mean of per-item quality) and computes BD on the two mean curves.
The CI is the percentile interval of the finite resample values. Resamples can fail (a mean
curve that stops being monotone, a lost overlap); their count is reported, and when fewer than
``min_finite`` of them are finite the CI is (NaN, NaN) with the commonest failure as reason,
since percentiles of the survivors would be biased towards well-behaved resamples.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from bench.rd.bd import BDResult, _bd, _json_safe, bd


@dataclass(frozen=True)
class BootstrapCI:
    """Percentile CI over item resamples, with the point estimate on all items."""

    point: BDResult
    bd_rate_ci: tuple[float, float]
    bd_psnr_ci: tuple[float, float]
    n_boot: int
    n_finite_rate: int
    n_finite_psnr: int
    level: float
    seed: int
    reason: str | None  # why bd_rate_ci is NaN; None when computed
    bd_psnr_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, the point estimate nested under ``point``."""
        out = {k: _json_safe(getattr(self, k)) for k in self.__dataclass_fields__ if k != "point"}
        return {"point": self.point.to_dict(), **out}


def _items(name: str, rate: ArrayLike, quality: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(rate, dtype=float)
    q = np.asarray(quality, dtype=float)
    if r.ndim != 2 or r.shape != q.shape:
        raise ValueError(
            f"{name}: per-item rate and quality must be [n_items, n_points] of the same "
            f"shape, got {r.shape} and {q.shape}"
        )
    return r, q


def _ci(
    values: np.ndarray, reasons: Counter[str], what: str, level: float, need: int
) -> tuple[tuple[float, float], str | None]:
    finite = values[np.isfinite(values)]
    if finite.size < need:
        kind, count = reasons.most_common(1)[0] if reasons else ("none recorded", 0)
        return (math.nan, math.nan), (
            f"only {finite.size}/{values.size} resamples gave a finite "
            f"{what} (need {need}); commonest failure ({count}x): {kind}"
        )
    tail = 50.0 * (1.0 - level)
    lo, hi = np.percentile(finite, [tail, 100.0 - tail])
    return (float(lo), float(hi)), None


def bootstrap_bd(
    anchor_rate: ArrayLike,
    anchor_quality: ArrayLike,
    test_rate: ArrayLike,
    test_quality: ArrayLike,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    min_finite: float = 0.9,
    higher_is_better: bool = True,
    is_db: bool = True,
    hull: bool = False,
    min_overlap: float = 0.0,
) -> BootstrapCI:
    """CI of BD-rate and BD-PSNR from per-item arrays ``[n_items, n_points]`` (same items, same order).

    Anchor and test may have different numbers of rate points, not of items.
    """
    ar, aq = _items("anchor", anchor_rate, anchor_quality)
    tr, tq = _items("test", test_rate, test_quality)
    n_items = ar.shape[0]
    if tr.shape[0] != n_items:
        raise ValueError(f"paired bootstrap needs the same items: anchor has {n_items}, test {tr.shape[0]}")
    if n_items < 1 or n_boot < 1:
        raise ValueError(f"need at least one item and one resample, got {n_items} items, n_boot={n_boot}")
    opts: dict[str, Any] = {
        "higher_is_better": higher_is_better,
        "is_db": is_db,
        "hull": hull,
        "min_overlap": min_overlap,
    }
    point = bd(ar.mean(0), aq.mean(0), tr.mean(0), tq.mean(0), **opts)

    idx = np.random.default_rng(seed).integers(0, n_items, size=(n_boot, n_items))
    means = [x[idx].mean(axis=1) for x in (ar, aq, tr, tq)]  # each [n_boot, n_points]
    rates = np.full(n_boot, math.nan)
    psnrs = np.full(n_boot, math.nan)
    rate_fail: Counter[str] = Counter()
    psnr_fail: Counter[str] = Counter()
    for b in range(n_boot):
        res = _bd(*(m[b] for m in means), **opts, akima=False)
        rates[b], psnrs[b] = res.bd_rate_pct, res.bd_psnr_db
        if res.reason:  # counted by kind: the text before ':' carries no per-resample numbers
            rate_fail[res.reason.split(":")[0]] += 1
        if res.bd_psnr_reason:
            psnr_fail[res.bd_psnr_reason.split(":")[0]] += 1

    need = math.ceil(min_finite * n_boot)
    rate_ci, reason = _ci(rates, rate_fail, "BD-rate", level, need)
    psnr_ci, psnr_reason = _ci(psnrs, psnr_fail, "BD-PSNR", level, need)
    return BootstrapCI(
        point,
        rate_ci,
        psnr_ci,
        n_boot,
        int(np.isfinite(rates).sum()),
        int(np.isfinite(psnrs).sum()),
        level,
        seed,
        reason,
        psnr_reason,
    )
