"""Shared fixtures: the real shared data folder, real images, temp output dirs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.paths import data_root


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = data_root()
    if not (root / "kodak").is_dir():
        pytest.fail(f"shared data not found at {root}; set SANDWICH_DATA to the shared/data folder")
    return root


@pytest.fixture(scope="session")
def kodim(data_dir: Path):
    """Load a Kodak image (optionally a crop) as uint8 H x W x 3."""

    def load(n: int = 23, crop: tuple[int, int] | None = None) -> np.ndarray:
        img = np.asarray(Image.open(data_dir / "kodak" / f"kodim{n:02d}.png").convert("RGB"))
        if crop:
            img = img[: crop[0], : crop[1]]
        return np.ascontiguousarray(img)

    return load
