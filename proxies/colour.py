"""JFIF (BT.601 full range) RGB <-> YCbCr in torch, as libjpeg converts around its DCT.

Channel axis -3, so ``N x 3 x H x W`` images and ``N x T x 3 x H x W`` clips both work. The numpy
twin for the ffmpeg codecs' planes is ``bench.codecs.planes`` (same matrix, any Kr/Kb).
"""
from __future__ import annotations

import torch
from torch import Tensor

_KR, _KB = 0.299, 0.114
_KG = 1 - _KR - _KB
_M64 = torch.tensor([[_KR, _KG, _KB],
                     [-_KR / (2 * (1 - _KB)), -_KG / (2 * (1 - _KB)), 0.5],
                     [0.5, -_KG / (2 * (1 - _KR)), -_KB / (2 * (1 - _KR))]], dtype=torch.float64)
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
