"""Scenarios: what a source is and how it is measured (the bottleneck side comes with the sandwich).

A scenario turns a loaded file into the array every method receives and fixes its bit depth,
so all methods in an experiment see exactly the same pixels.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench.errors import DataError
from bench.registry import Registry


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    channels: int
    bitdepth: int
    default_metrics: tuple[str, ...]
    to_source: Callable[[np.ndarray, str], np.ndarray]


SCENARIOS: Registry[Scenario] = Registry("scenario")


def _rgb8(img: np.ndarray, name: str) -> np.ndarray:
    if img.dtype != np.uint8:
        raise DataError(f"item {name!r}: scenario 'rgb' needs 8-bit images, got {img.dtype}; "
                        "use an HDR scenario for deeper sources")
    if img.shape[2] == 1:
        raise DataError(f"item {name!r} is grayscale; scenario 'rgb' needs RGB images")
    return img[:, :, :3]


def _register(s: Scenario) -> None:
    SCENARIOS.register(s.name)(s)


_register(Scenario("rgb", "8-bit RGB photographs through a codec; quality measured on RGB",
                   3, 8, ("psnr-rgb", "ms-ssim-rgb"), _rgb8))
