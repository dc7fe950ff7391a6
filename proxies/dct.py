"""Orthonormal 8x8 block DCT-II and the padding that makes any image blockable.

The orthonormal 2-D DCT-II on 8x8 blocks *is* JPEG's FDCT scaling (F = C(u)C(v)/4 · Σ ...), so
a quantiser step Δ on these coefficients maps 1:1 to a JPEG quantisation-table entry.
Coefficients are kept in a blocks layout ``N x C x H/8 x W/8 x 8 x 8`` so per-frequency
statistics (the calibration-free rate models) are a reduction over dims 2-3.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor

BLOCK = 8


@functools.cache
def dct_matrix(n: int = BLOCK, device: torch.device | str | None = None) -> Tensor:
    """The n x n orthonormal DCT-II matrix D (rows = frequencies); D @ D.T == I. Cached: read-only."""
    with torch.inference_mode(False):  # a cached inference tensor would break later backward passes
        k = torch.arange(n, dtype=torch.float64)[:, None]
        i = torch.arange(n, dtype=torch.float64)[None, :]
        d = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
        d[0] /= math.sqrt(2.0)
        return d.to(device=device, dtype=torch.float32)


def block_dct(x: Tensor) -> Tensor:
    """``N x C x H x W`` (H, W multiples of 8) -> coefficients ``N x C x H/8 x W/8 x 8 x 8``."""
    n, c, h, w = x.shape
    if h % BLOCK or w % BLOCK:
        raise ValueError(f"block_dct needs H and W multiples of {BLOCK}, got {h}x{w}; pad first")
    d = dct_matrix(device=x.device)
    blocks = x.reshape(n, c, h // BLOCK, BLOCK, w // BLOCK, BLOCK)
    return torch.einsum("ui,ncaibj,vj->ncabuv", d, blocks, d)


def block_idct(coeffs: Tensor) -> Tensor:
    """Inverse of :func:`block_dct`: blocks layout -> ``N x C x H x W``."""
    n, c, hb, wb = coeffs.shape[:4]
    d = dct_matrix(device=coeffs.device)
    blocks = torch.einsum("ui,ncabuv,vj->ncaibj", d, coeffs, d)
    return blocks.reshape(n, c, hb * BLOCK, wb * BLOCK)


def _symmetric_index(size: int, total: int, device: torch.device) -> Tensor:
    """Indices of a half-sample symmetric extension (… b a | a b … z | z y …) of length total."""
    i = torch.arange(total, device=device) % (2 * size)
    return torch.where(i < size, i, 2 * size - 1 - i)


def pad_symmetric(x: Tensor, multiple: int) -> Tensor:
    """Pad bottom/right of ``… x H x W`` by mirroring (edge included) up to a multiple.

    Works for any size, even one smaller than the padding (the mirror repeats).
    libjpeg and x265 replicate the edge instead; both codecs code the padded blocks, so this
    only changes content inside partial blocks that are cropped away again.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph:
        x = x.index_select(-2, _symmetric_index(h, h + ph, x.device))
    if pw:
        x = x.index_select(-1, _symmetric_index(w, w + pw, x.device))
    return x
