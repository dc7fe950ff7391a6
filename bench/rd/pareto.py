"""Which operating points are worth keeping: the Pareto frontier and its upper convex hull.

A point (rate, quality) dominates another when its rate is no higher and its quality no lower,
one of the two strictly. Quality here is always "higher is better"; negate lower-is-better
metrics (LPIPS) before calling. Both functions return indices into the inputs, sorted by rate,
so callers keep whatever else belongs to a point (its λ, its model, its per-item values).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike


def _as_points(rates: ArrayLike, quals: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(rates, dtype=float)
    q = np.asarray(quals, dtype=float)
    if r.ndim != 1 or r.shape != q.shape:
        raise ValueError(f"rates and quals must be 1-D of equal length, got {r.shape} and {q.shape}")
    if not (np.isfinite(r).all() and np.isfinite(q).all()):
        raise ValueError("rates and quals must be finite; drop or report NaN points before this")
    return r, q


def pareto_front(rates: ArrayLike, quals: ArrayLike) -> np.ndarray:
    """Indices of the non-dominated points, by increasing rate (and so increasing quality).

    Of exact duplicates the first is kept, so the frontier is strictly increasing in both axes.
    """
    r, q = _as_points(rates, quals)
    order = np.lexsort((-q, r))  # by rate, ties: best quality first (stable keeps first duplicate)
    keep: list[int] = []
    best = -np.inf
    for i in order:
        if q[i] > best:
            keep.append(int(i))
            best = q[i]
    return np.asarray(keep, dtype=int)


def upper_hull(rates: ArrayLike, quals: ArrayLike) -> np.ndarray:
    """Indices of the vertices of the upper-left convex hull, by increasing rate.

    Convex in the axes as given: pass ``np.log10(rates)`` for the BD plane, linear rates for
    the operational (time-sharing) RD hull. Collinear middle points are not vertices and are
    dropped. The result is a subset of :func:`pareto_front`.
    """
    r, q = _as_points(rates, quals)
    front = pareto_front(r, q)
    hull: list[int] = []
    for i in front:
        while len(hull) >= 2:
            o, a = hull[-2], hull[-1]
            cross = (r[a] - r[o]) * (q[i] - q[o]) - (q[a] - q[o]) * (r[i] - r[o])
            if cross < 0:  # o -> a -> i turns clockwise: a stays a vertex
                break
            hull.pop()
        hull.append(int(i))
    return np.asarray(hull, dtype=int)


def frontier(curves: Mapping[str, tuple[ArrayLike, ArrayLike]], convex: bool = False) -> list[tuple[str, int]]:
    """The frontier across several models' curves (e.g. one model per λ), by increasing rate.

    Returns ``(curve name, point index in that curve)`` pairs; ``convex=True`` takes the upper
    convex hull (:func:`upper_hull`) instead of the Pareto frontier.
    """
    names: list[tuple[str, int]] = []
    rs: list[np.ndarray] = []
    qs: list[np.ndarray] = []
    for name, (rates, quals) in curves.items():
        r, q = _as_points(rates, quals)
        names += [(name, j) for j in range(len(r))]
        rs.append(r)
        qs.append(q)
    if not names:
        return []
    pick = upper_hull if convex else pareto_front
    return [names[i] for i in pick(np.concatenate(rs), np.concatenate(qs))]
