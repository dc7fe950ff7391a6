"""Pareto frontier and upper convex hull on hand-made point sets."""

from __future__ import annotations

import numpy as np
import pytest

from bench.rd import frontier, pareto_front, upper_hull

#                 A     B     C     D     E     F     G     A again
RATES = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 6.0, 1.0])
QUALS = np.array([30.0, 29.0, 33.0, 33.0, 36.0, 35.9, 40.0, 30.0])


def test_pareto_front_hand_made():
    # B is beaten by A, D by C (same quality, more rate), F by E; the duplicate of A is dropped
    assert pareto_front(RATES, QUALS).tolist() == [0, 2, 4, 6]


def test_pareto_front_ties_on_rate_keep_best_quality():
    assert pareto_front([1.0, 1.0, 2.0], [31.0, 32.0, 33.0]).tolist() == [1, 2]


def test_upper_hull_drops_points_under_the_chord():
    r = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    q = [30.0, 31.0, 36.0, 37.0, 38.0, 20.0]
    # (2, 31) lies under the chord (1,30)-(3,36); (4, 37) is a collinear middle point of
    # (3,36)-(5,38), so not a vertex; (6, 20) is dominated
    assert upper_hull(r, q).tolist() == [0, 2, 4]
    assert set(upper_hull(r, q)) <= set(pareto_front(r, q))


def test_upper_hull_in_log_rate_plane_differs_from_linear():
    r = np.array([0.1, 0.2, 0.4, 0.8])
    q = 30 + 10 * np.log10(r)  # a straight line in log-rate: only the ends are vertices there
    assert upper_hull(np.log10(r), q).tolist() == [0, 3]
    assert upper_hull(r, q).tolist() == [0, 1, 2, 3]  # concave in linear rate: all are vertices


def test_frontier_across_models():
    curves = {
        "lambda_small": ([0.2, 0.4, 0.8], [28.0, 31.0, 33.0]),
        "lambda_large": ([0.3, 0.6, 1.2], [30.0, 33.5, 36.0]),
    }
    small, large = "lambda_small", "lambda_large"
    assert frontier(curves) == [(small, 0), (large, 0), (small, 1), (large, 1), (large, 2)]
    # (0.4, 31) lies under the chord (0.3, 30)-(0.6, 33.5): on the frontier, not on the hull
    assert frontier(curves, convex=True) == [(small, 0), (large, 0), (large, 1), (large, 2)]
    assert frontier({}) == []


def test_non_finite_points_are_refused():
    with pytest.raises(ValueError, match="finite"):
        pareto_front([1.0, 2.0], [30.0, np.nan])
