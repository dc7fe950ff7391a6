"""Y'CbCr <-> R'G'B' for video: BT.601 / BT.709 matrices, limited ("tv") or full ("pc") range.

Video files rarely say which matrix they use and y4m has no tag for it, so every clip carries
its matrix and range explicitly (``bench.video.Clip``) and conversions name both. Integer
scaling at bit depth d (ITU-R BT.601/709, and what ffmpeg's swscale does):

- limited: Y = (16 + 219 Y') 2^(d-8), C = (128 + 224 P) 2^(d-8);
- full: Y = (2^d - 1) Y', C = (2^d - 1) P + 2^(d-1) (JFIF; ``bench.codecs.planes`` for BT.601);

with Y' in [0, 1], P in [-1/2, 1/2] from ``planes.ycbcr_matrix``. Results are float, unrounded.
"""
from __future__ import annotations

import numpy as np

from bench.codecs.planes import ycbcr_matrix

MATRICES = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}
RANGES = ("limited", "full")


def check_colour(matrix: str, range_: str) -> None:
    if matrix not in MATRICES:
        raise ValueError(f"unknown colour matrix {matrix!r}; choose from: {', '.join(MATRICES)}")
    if range_ not in RANGES:
        raise ValueError(f"unknown colour range {range_!r}; choose from: {', '.join(RANGES)}")


def _scales(range_: str, bitdepth: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (gain, offset) taking Y'PbPr to code values."""
    if range_ == "full":
        peak = 2.0**bitdepth - 1
        return np.array([peak] * 3), np.array([0.0, 2.0 ** (bitdepth - 1), 2.0 ** (bitdepth - 1)])
    s = 2.0 ** (bitdepth - 8)
    return np.array([219.0, 224.0, 224.0]) * s, np.array([16.0, 128.0, 128.0]) * s


def rgb_to_ycbcr(rgb: np.ndarray, matrix: str, range_: str, bitdepth: int) -> np.ndarray:
    """``... x 3`` RGB code values (full range, 0..2^d-1) to float Y, Cb, Cr code values."""
    check_colour(matrix, range_)
    gain, offset = _scales(range_, bitdepth)
    unit = rgb.astype(np.float64) / (2.0**bitdepth - 1)
    return unit @ ycbcr_matrix(*MATRICES[matrix]).T * gain + offset


def ycbcr_to_rgb(ycc: np.ndarray, matrix: str, range_: str, bitdepth: int) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr`: float RGB code values (clip and round afterwards)."""
    check_colour(matrix, range_)
    gain, offset = _scales(range_, bitdepth)
    unit = (ycc.astype(np.float64) - offset) / gain
    return unit @ np.linalg.inv(ycbcr_matrix(*MATRICES[matrix])).T * (2.0**bitdepth - 1)


def luma_to_gray(y: np.ndarray, range_: str, bitdepth: int) -> np.ndarray:
    """A luma plane as full-range gray code values (float): what a 4:0:0 clip looks like in RGB."""
    check_colour("bt601", range_)
    gain, offset = _scales(range_, bitdepth)
    return (y.astype(np.float64) - offset[0]) / gain[0] * (2.0**bitdepth - 1)
