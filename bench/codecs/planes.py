"""Image <-> codec planes for the ffmpeg codecs: colour matrix, 4:2:0 resampling, edge padding.

Done here in numpy rather than by ffmpeg's swscale so the matrix, range and filters are explicit
and recorded:

- Colour: BT.601 full range, the JPEG/JFIF matrix (``bench.colour.rgb_to_jfif``), chroma offset
  2**(bitdepth-1); the inverse is the exact matrix inverse. Values are rounded half to even.
- 4:2:0 down: 2x2 box mean (chroma centred between the four luma samples, as in JPEG).
- 4:2:0 up: separable triangle filter, weights 3/4 and 1/4 per axis (libjpeg's "fancy"
  upsampling for centred chroma), edges replicated.

Images are ``... x H x W x C`` and planes ``... x h x w``: a leading frame axis (video) passes
through every function unchanged.
"""

from __future__ import annotations

import numpy as np

from bench.colour import jfif_to_rgb, rgb_to_jfif

CHROMA_FILTERS = "down: 2x2 box mean (centred chroma); up: triangle 3/4-1/4 per axis (libjpeg fancy)"


def quantise(x: np.ndarray, bitdepth: int) -> np.ndarray:
    """Round half to even and clip to the bit depth's range, as uint8 / uint16."""
    dtype = np.uint8 if bitdepth <= 8 else np.uint16
    return np.clip(np.rint(x), 0, (1 << bitdepth) - 1).astype(dtype)


def pad_to_even(img: np.ndarray) -> np.ndarray:
    """Edge-replicate the bottom row / right column of ``... x H x W x C`` so H and W are even."""
    h, w = img.shape[-3:-1]
    pad = [(0, 0)] * (img.ndim - 3) + [(0, h % 2), (0, w % 2), (0, 0)]
    return np.pad(img, pad, mode="edge")


def down2(plane: np.ndarray) -> np.ndarray:
    """2x2 box mean of an even-sized ``... x H x W`` plane, as float."""
    p = plane.astype(np.float64)
    return (p[..., 0::2, 0::2] + p[..., 0::2, 1::2] + p[..., 1::2, 0::2] + p[..., 1::2, 1::2]) / 4


def _up2_axis(x: np.ndarray, axis: int) -> np.ndarray:
    x = np.moveaxis(x, axis, 0)
    padded = np.concatenate([x[:1], x, x[-1:]])
    out = np.empty((2 * x.shape[0], *x.shape[1:]))
    out[0::2] = 0.75 * x + 0.25 * padded[:-2]
    out[1::2] = 0.75 * x + 0.25 * padded[2:]
    return np.moveaxis(out, 0, axis)


def up2(plane: np.ndarray) -> np.ndarray:
    """Double both sides of an ``... x h x w`` plane with the triangle filter, as float."""
    return _up2_axis(_up2_axis(plane.astype(np.float64), -2), -1)


def to_planes(img: np.ndarray, colour: str, chroma: str, bitdepth: int) -> list[np.ndarray]:
    """The planes a codec is fed from ``... x H x W x C``: ``colour="ycbcr"`` converts RGB,
    ``chroma="420"`` halves planes 1-2 (H, W must be even); rounded to the bit depth."""
    src = rgb_to_jfif(img, bitdepth) if colour == "ycbcr" else img
    planes = [src[..., c] for c in range(src.shape[-1])]
    if chroma == "420":
        planes[1:] = [down2(p) for p in planes[1:]]
    return [quantise(p, bitdepth) for p in planes]


def from_planes(planes: list[np.ndarray], colour: str, chroma: str, bitdepth: int) -> np.ndarray:
    """Inverse of :func:`to_planes`: decoded planes back to ``... x H x W x C``."""
    if chroma == "420":
        planes = [planes[0], *(up2(p) for p in planes[1:])]
    img = np.stack(planes, axis=-1)
    if colour == "ycbcr":
        return quantise(jfif_to_rgb(img, bitdepth), bitdepth)
    return quantise(img, bitdepth) if chroma == "420" else img
