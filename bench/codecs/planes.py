"""Image <-> codec planes for the video codecs: colour matrix, 4:2:0 resampling, edge padding.

Done here in numpy rather than by ffmpeg's swscale so the matrix, range and filters are explicit
and recorded:

- Colour: BT.601 full range, the JPEG/JFIF matrix (Kr = 0.299, Kb = 0.114), chroma offset
  2**(bitdepth-1); the inverse is the exact matrix inverse. Values are rounded half to even.
- 4:2:0 down: 2x2 box mean (chroma centred between the four luma samples, as in JPEG).
- 4:2:0 up: separable triangle filter, weights 3/4 and 1/4 per axis (libjpeg's "fancy"
  upsampling for centred chroma), edges replicated.
"""
from __future__ import annotations

import numpy as np

KR, KB = 0.299, 0.114
RGB_TO_YCBCR = np.array([
    [KR, 1 - KR - KB, KB],
    [-KR / (2 * (1 - KB)), -(1 - KR - KB) / (2 * (1 - KB)), 0.5],
    [0.5, -(1 - KR - KB) / (2 * (1 - KR)), -KB / (2 * (1 - KR))],
])
YCBCR_TO_RGB = np.linalg.inv(RGB_TO_YCBCR)
MATRIX_NAME = "BT.601 full range (JPEG/JFIF), chroma offset 2**(bitdepth-1)"
CHROMA_FILTERS = "down: 2x2 box mean (centred chroma); up: triangle 3/4-1/4 per axis (libjpeg fancy)"


def rgb_to_ycbcr(rgb: np.ndarray, bitdepth: int) -> np.ndarray:
    """H x W x 3 integers -> float Y, Cb, Cr (not yet rounded)."""
    ycc = rgb.astype(np.float64) @ RGB_TO_YCBCR.T
    ycc[..., 1:] += 1 << (bitdepth - 1)
    return ycc


def ycbcr_to_rgb(ycc: np.ndarray, bitdepth: int) -> np.ndarray:
    """Float (or integer) Y, Cb, Cr -> float R, G, B (not yet rounded)."""
    centred = ycc.astype(np.float64)
    centred[..., 1:] -= 1 << (bitdepth - 1)
    return centred @ YCBCR_TO_RGB.T


def quantise(x: np.ndarray, bitdepth: int) -> np.ndarray:
    """Round half to even and clip to the bit depth's range, as uint8 / uint16."""
    dtype = np.uint8 if bitdepth <= 8 else np.uint16
    return np.clip(np.rint(x), 0, (1 << bitdepth) - 1).astype(dtype)


def pad_to_even(img: np.ndarray) -> np.ndarray:
    """Edge-replicate the bottom row / right column so H and W are even (4:2:0 needs it)."""
    h, w = img.shape[:2]
    return np.pad(img, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def down2(plane: np.ndarray) -> np.ndarray:
    """2x2 box mean of an even-sized H x W plane, as float."""
    p = plane.astype(np.float64)
    return (p[0::2, 0::2] + p[0::2, 1::2] + p[1::2, 0::2] + p[1::2, 1::2]) / 4


def _up2_axis(x: np.ndarray, axis: int) -> np.ndarray:
    x = np.moveaxis(x, axis, 0)
    padded = np.concatenate([x[:1], x, x[-1:]])
    out = np.empty((2 * x.shape[0], *x.shape[1:]))
    out[0::2] = 0.75 * x + 0.25 * padded[:-2]
    out[1::2] = 0.75 * x + 0.25 * padded[2:]
    return np.moveaxis(out, 0, axis)


def up2(plane: np.ndarray) -> np.ndarray:
    """Double both sides of an h x w plane with the triangle filter, as float."""
    return _up2_axis(_up2_axis(plane.astype(np.float64), 0), 1)
