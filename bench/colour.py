"""Colour facts in one place: BT.601 / BT.709 luma weights, Y'CbCr matrices, full and limited range.

Two integer scalings at bit depth d (ITU-R BT.601/709, and what ffmpeg's swscale does):

- limited: Y = (16 + 219 Y') 2^(d-8), C = (128 + 224 P) 2^(d-8);
- full: Y = (2^d - 1) Y', C = (2^d - 1) P + 2^(d-1);

with Y' in [0, 1], P in [-1/2, 1/2] from :func:`ycbcr_matrix`. BT.601 full range is JPEG/JFIF's
transform; :func:`rgb_to_jfif` computes it on the code values directly, as libjpeg does and as
the codecs' planes have always been made (the same transform as ``rgb_to_ycbcr(.., "bt601",
"full", d)`` up to float rounding, which is why both are kept). Results are float, unrounded.
The torch twin of the JFIF transform is ``proxies.colour``.
"""

from __future__ import annotations

import numpy as np

BT601_KR, BT601_KB = 0.299, 0.114
MATRICES = {"bt601": (BT601_KR, BT601_KB), "bt709": (0.2126, 0.0722)}
RANGES = ("limited", "full")

# BT.601 luma weights, two float64 spellings: the matrix row has Kg = 1 - Kr - Kb
# (0.5870000000000001), the standard prints 0.587. They round 5222 of the 2^24 8-bit colours to
# different integers, so each caller keeps the one its recorded numbers were computed with: the
# metrics the row, the luma baselines and training crops the printed weights.
BT601_LUMA = np.array([BT601_KR, 1.0 - BT601_KR - BT601_KB, BT601_KB])
BT601_LUMA_PRINTED = np.array([BT601_KR, 0.587, BT601_KB])

JFIF_NAME = "BT.601 full range (JPEG/JFIF), chroma offset 2**(bitdepth-1)"


def ycbcr_matrix(kr: float, kb: float) -> np.ndarray:
    """R'G'B' -> Y'PbPr (Y in [0, 1], Pb/Pr in [-1/2, 1/2]) for luma weights Kr, Kb."""
    kg = 1 - kr - kb
    return np.array(
        [
            [kr, kg, kb],
            [-kr / (2 * (1 - kb)), -kg / (2 * (1 - kb)), 0.5],
            [0.5, -kg / (2 * (1 - kr)), -kb / (2 * (1 - kr))],
        ]
    )


RGB_TO_JFIF = ycbcr_matrix(BT601_KR, BT601_KB)
JFIF_TO_RGB = np.linalg.inv(RGB_TO_JFIF)


def rgb_to_jfif(rgb: np.ndarray, bitdepth: int) -> np.ndarray:
    """``... x 3`` RGB integers -> float Y, Cb, Cr (BT.601 full range, chroma offset 2^(d-1))."""
    ycc = rgb.astype(np.float64) @ RGB_TO_JFIF.T
    ycc[..., 1:] += 1 << (bitdepth - 1)
    return ycc


def jfif_to_rgb(ycc: np.ndarray, bitdepth: int) -> np.ndarray:
    """Inverse of :func:`rgb_to_jfif`: float (or integer) Y, Cb, Cr -> float R, G, B."""
    centred = ycc.astype(np.float64)
    centred[..., 1:] -= 1 << (bitdepth - 1)
    return centred @ JFIF_TO_RGB.T


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
