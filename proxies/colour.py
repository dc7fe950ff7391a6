"""JFIF (BT.601 full range) RGB <-> YCbCr in torch, as libjpeg converts around its DCT.

Channel axis -3, so ``N x 3 x H x W`` images and ``N x T x 3 x H x W`` clips both work. The matrix
is ``bench.colour``'s (the numpy side, for the ffmpeg codecs' planes); inverted in float64 here.
"""

from __future__ import annotations

import torch
from torch import Tensor

from bench.colour import RGB_TO_JFIF

_M64 = torch.from_numpy(RGB_TO_JFIF)
RGB_TO_YCC = _M64.float()
YCC_TO_RGB = torch.linalg.inv(_M64).float()
_OFFSET = torch.tensor([0.0, 128.0, 128.0])


def linear_ycbcr(rgb: Tensor) -> Tensor:
    """The matrix alone (no chroma offset): for differences such as an error image."""
    return torch.einsum("ij,...jhw->...ihw", RGB_TO_YCC.to(rgb), rgb)


def to_ycbcr(rgb: Tensor) -> Tensor:
    """0..255 RGB -> Y, Cb, Cr (chroma offset 128), unrounded."""
    return linear_ycbcr(rgb) + _OFFSET.to(rgb)[:, None, None]


def to_rgb(ycc: Tensor) -> Tensor:
    """Y, Cb, Cr (chroma offset 128) -> RGB, unrounded."""
    return torch.einsum("ij,...jhw->...ihw", YCC_TO_RGB.to(ycc), ycc - _OFFSET.to(ycc)[:, None, None])
