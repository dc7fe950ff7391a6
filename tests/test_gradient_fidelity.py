"""Gradient fidelity: the proxy's directional derivatives against real-JPEG finite differences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sandwich.diagnostics.gradients import _cosine, run_gradient_fidelity


def test_cosine_of_a_vector_with_itself_and_its_negative() -> None:
    a = np.array([1.0, -2.0, 3.0])
    assert _cosine(a, a) == 1.0 and _cosine(a, -a) == -1.0 and _cosine(a, 0 * a) is None


@pytest.mark.slow  # hundreds of real JPEG encodes
def test_gradient_cosines_on_real_jpeg(data_dir: Path) -> None:
    """Measured on Kodak crops: the unrounded rate gradient agrees with the real codec better than the
    rounded one, and straight-through distortion gradients point against it (METHOD §11)."""
    res = run_gradient_fidelity(data_dir / "kodak", [8.0], max_items=4, directions=64)
    row = res["per_step"][0]
    assert row["rate_unrounded"]["mean"] > row["rate_rounded"]["mean"] > 0
    assert row["distortion_ste"]["mean"] < 0 and row["distortion_real"]["mean"] < 0
    assert row["distortion_noise"]["mean"] > row["distortion_ste"]["mean"]
    assert len(res["per_item"]) == 4
