"""Shared fixtures: the real shared data folder, real images, temp output dirs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner, Result

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


@pytest.fixture(scope="module")
def crops_dir(kodim, tmp_path_factory) -> Path:
    """Three 64 x 96 Kodak crops as PNGs (plus a stray text file that must be ignored)."""
    folder = tmp_path_factory.mktemp("crops")
    for n in (3, 19, 23):
        Image.fromarray(kodim(n)[100:164, 200:296]).save(folder / f"kodim{n:02d}.png")
    (folder / "SOURCES.md").write_text("not an image")
    return folder


@pytest.fixture(scope="session")
def bench_app() -> Callable[..., Result]:
    """``bench ARGS`` in this process: the app the console script runs, its error lines included."""
    from bench.cli import app

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})

    return invoke
