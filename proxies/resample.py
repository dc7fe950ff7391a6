"""Resamplers the method prescribes: antialiased ↓2 (bilinear / bicubic) and Lanczos3 ↑2.

torch's ``interpolate(..., antialias=True)`` already reproduces Pillow's BILINEAR / BICUBIC
reduce (same support scaling, same edge renormalisation). torch has no Lanczos3, so
:func:`lanczos3_up2` rebuilds Pillow's ``resize(LANCZOS)`` for an exact ×2 upscale:

    out[2j]   = Σ_o L(o + 1/4) x[j+o] / Σ_o L(o + 1/4)     (o = -3..2, taps inside the image)
    out[2j+1] = Σ_o L(o - 1/4) x[j+o] / Σ_o L(o - 1/4)     (o = -2..3)
    L(d) = sinc(d) sinc(d/3) for |d| < 3

Pillow drops taps that fall outside the image and renormalises the rest; zero-padding the
numerator and dividing by the same convolution of a ones-vector does exactly that.
"""

from __future__ import annotations

import functools
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor


def downsample2(x: Tensor, kernel: Literal["bilinear", "bicubic"] = "bilinear") -> Tensor:
    """Antialiased ÷2 of ``N x C x H x W`` (H, W even), matching Pillow's reduce filters."""
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        raise ValueError(f"downsample2 needs even H and W, got {h}x{w}")
    return F.interpolate(x, size=(h // 2, w // 2), mode=kernel, antialias=True, align_corners=False)


@functools.cache
def _lanczos3_phases(device: torch.device, dtype: torch.dtype) -> Tensor:
    """Weights ``2 x 1 x 7`` for taps o = -3..3: row 0 = even outputs, row 1 = odd outputs.

    Cached per dtype too, so float64 inputs (gradcheck) keep double precision."""
    with torch.inference_mode(False):  # cached: must stay usable by autograd
        o = torch.arange(-3, 4, dtype=torch.float64)
        d = torch.stack([o + 0.25, o - 0.25])
        w = torch.where(d.abs() < 3, torch.sinc(d) * torch.sinc(d / 3), torch.zeros_like(d))
        return w[:, None, :].to(device=device, dtype=dtype)


def _up2_last_dim(x: Tensor) -> Tensor:
    """Lanczos3 ×2 along the last dimension."""
    *lead, n = x.shape
    weights = _lanczos3_phases(x.device, x.dtype)
    num = F.conv1d(x.reshape(-1, 1, n), weights, padding=3)  # (B, 2, n): even, odd phases
    den = F.conv1d(torch.ones(1, 1, n, device=x.device, dtype=x.dtype), weights, padding=3)
    out = (num / den).transpose(1, 2)  # (B, n, 2): interleave phases
    return out.reshape(*lead, 2 * n)


def lanczos3_up2(x: Tensor) -> Tensor:
    """Pillow-equivalent ``resize((2W, 2H), LANCZOS)`` of ``N x C x H x W`` (float, differentiable)."""
    x = _up2_last_dim(x)
    return _up2_last_dim(x.transpose(-1, -2)).transpose(-1, -2)
