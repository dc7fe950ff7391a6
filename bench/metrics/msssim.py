"""MS-SSIM (Wang, Simoncelli & Bovik 2003) in torch: differentiable, usable as a loss.

Follows Wang's reference ``msssim.m``: 5 scales with weights (0.0448, 0.2856, 0.3001, 0.2363,
0.1333); an 11x11 Gaussian window (σ = 1.5) applied 'valid' (no padding); K1 = 0.01, K2 = 0.03;
data range L = 2^d - 1; between scales a 2x2 mean with symmetric edge extension, then every
second pixel. Contrast–structure terms of scales 1–4 and the full SSIM of scale 5 are raised to
their weights and multiplied. Negative terms are clamped to 0 (as pytorch_msssim/CompressAI do)
so the fractional powers stay real.

Two conventions for colour images (they differ by up to ~0.005):
``ms_ssim_rgb``: per-channel MS-SSIM averaged over channels (CompressAI's ``ms-ssim-rgb``);
``ms_ssim_gray``: MATLAB ``rgb2gray`` (rounded) then MS-SSIM (the published MATLAB values).

Both evaluate one plane at a time, and each scale in bands of rows (:func:`ms_ssim_plane`), still
in float64: the maps are the torch path's to the last bit (the same separable sums; the 2x2 means
are exact), only the order in which their means are summed differs. Why: whole-image float64 tensors
of an 8000x8000 RGB pair took over 12 GB; bands keep the working set near 300 MB at any size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from bench.errors import DataError
from bench.metrics.common import check_pair, peak, rgb2gray_matlab, row_blocks

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WIN_SIZE, WIN_SIGMA, K1, K2 = 11, 1.5, 0.01, 0.03
# Each scale halves (rounding up); the coarsest (1/16) must still hold one 11x11 window.
MIN_SIDE = (WIN_SIZE - 1) * 2 ** (len(WEIGHTS) - 1) + 1  # 161
BAND_BYTES = 16 << 20  # one float64 band of rows, per array, in ms_ssim_plane
_T = TypeVar("_T", np.ndarray, torch.Tensor)


def _window(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    x = torch.arange(WIN_SIZE, dtype=dtype, device=device) - (WIN_SIZE - 1) / 2
    g = torch.exp(-(x**2) / (2 * WIN_SIGMA**2))
    return g / g.sum()


def _blur_np(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Separable Gaussian over the last two axes, 'valid' (MATLAB ``filter2(w, x, 'valid')``)."""
    r = (k.size - 1) // 2
    a = ndimage.correlate1d(x, k, axis=-1, mode="constant")[..., r:-r]
    return ndimage.correlate1d(a, k, axis=-2, mode="constant")[..., r:-r, :]


def _blur(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """:func:`_blur_np` per channel of NCHW tensors.

    Without gradients on the CPU scipy's separable filter does the same sums ~20x faster than
    torch's grouped float64 convolution; the loss path stays in torch."""
    if x.device.type == "cpu" and not (x.requires_grad or g.requires_grad):
        return torch.from_numpy(np.ascontiguousarray(_blur_np(x.numpy(), g.numpy())))
    c = x.shape[1]
    x = F.conv2d(x, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _ssim_cs_maps(x: _T, y: _T, blur: Callable[[_T], _T], data_range: float) -> tuple[_T, _T]:
    """The SSIM and contrast-structure maps, one formula for the torch and the banded numpy path."""
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    mu_x, mu_y = blur(x), blur(y)
    sxx = blur(x * x) - mu_x**2
    syy = blur(y * y) - mu_y**2
    sxy = blur(x * y) - mu_x * mu_y
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    return (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs, cs


def _ssim_cs(x: torch.Tensor, y: torch.Tensor, g: torch.Tensor, data_range: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean SSIM and mean contrast-structure per (image, channel)."""
    ssim, cs = _ssim_cs_maps(x, y, lambda a: _blur(a, g), data_range)
    return ssim.mean(dim=(2, 3)), cs.mean(dim=(2, 3))


def _downsample(x: torch.Tensor) -> torch.Tensor:
    """2x2 mean then every second pixel; odd sizes repeat the last row/column (MATLAB 'symmetric')."""
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
    return F.avg_pool2d(x, 2)


def check_size(h: int, w: int) -> None:
    """Raise a DataError naming the minimum size when 5 scales do not fit."""
    if min(h, w) < MIN_SIDE:
        coarse = (math.ceil(h / 16), math.ceil(w / 16))
        raise DataError(
            f"MS-SSIM needs images of at least {MIN_SIDE}x{MIN_SIDE} pixels (5 scales, "
            f"{WIN_SIZE}x{WIN_SIZE} window), got {h}x{w} whose coarsest scale is "
            f"{coarse[0]}x{coarse[1]}; evaluate on larger images or crops, or use single-scale "
            "SSIM / leave MS-SSIM out of this dataset's metrics"
        )


def _check_nchw(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape or x.ndim != 4:
        raise DataError(f"(MS-)SSIM needs two NCHW tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float) -> torch.Tensor:
    """Single-scale SSIM (MS-SSIM's first scale), per image, mean over channels, shape (N,).

    For images too small for MS-SSIM (at least 11x11), and as the check against MATLAB ``ssim``.
    """
    _check_nchw(x, y)
    if min(x.shape[-2:]) < WIN_SIZE:
        raise DataError(f"SSIM needs at least {WIN_SIZE}x{WIN_SIZE} pixels, got {tuple(x.shape[-2:])}")
    return _ssim_cs(x, y, _window(x.dtype, x.device), data_range)[0].mean(dim=1)


def ms_ssim(x: torch.Tensor, y: torch.Tensor, data_range: float) -> torch.Tensor:
    """Per-image MS-SSIM of NCHW tensors in [0, data_range]: mean over channels, shape (N,)."""
    _check_nchw(x, y)
    check_size(*x.shape[-2:])
    g = _window(x.dtype, x.device)
    weights = torch.tensor(WEIGHTS, dtype=x.dtype, device=x.device)
    terms = []
    for level in range(len(WEIGHTS)):
        full, cs = _ssim_cs(x, y, g, data_range)
        if level == len(WEIGHTS) - 1:
            terms.append(full)
        else:
            terms.append(cs)
            x, y = _downsample(x), _downsample(y)
    t = torch.stack(terms, dim=0)  # (levels, N, C)
    # Negative terms count as 0; the clamp keeps the unused branch's gradient finite (no NaN).
    powered = torch.where(t > 0, t.clamp(min=1e-12) ** weights.view(-1, 1, 1), torch.zeros_like(t))
    per_channel = torch.prod(powered, dim=0)
    return per_channel.mean(dim=1)


def _band_means(x: np.ndarray, y: np.ndarray, k: np.ndarray, data_range: float, band_bytes: int) -> tuple[float, float]:
    """Means of the SSIM and contrast-structure maps of two planes, summed band by band."""
    h, w = x.shape
    span = k.size - 1  # input rows a band needs beyond its output rows
    ssim_sum = cs_sum = 0.0
    for rows in row_blocks(h - span, 8 * w, band_bytes):
        xs, ys = (p[rows.start : rows.stop + span].astype(np.float64) for p in (x, y))
        ssim, cs = _ssim_cs_maps(xs, ys, lambda a: _blur_np(a, k), data_range)
        ssim_sum, cs_sum = ssim_sum + float(ssim.sum()), cs_sum + float(cs.sum())
    n = (h - span) * (w - span)
    return ssim_sum / n, cs_sum / n


def _downsample_plane(x: np.ndarray, band_bytes: int) -> np.ndarray:
    """:func:`_downsample` of one plane, band by band, in float64 (exact: means of 4 binary fractions)."""
    h, w = x.shape
    out = np.empty(((h + 1) // 2, (w + 1) // 2))
    for rows in row_blocks(out.shape[0], 16 * w, band_bytes):
        b = x[2 * rows.start : 2 * rows.stop].astype(np.float64)
        b = np.pad(b, ((0, b.shape[0] % 2), (0, w % 2)), mode="edge")  # MATLAB 'symmetric' at odd sizes
        out[rows] = (b[0::2, 0::2] + b[0::2, 1::2] + b[1::2, 0::2] + b[1::2, 1::2]) / 4
    return out


def ms_ssim_plane(x: np.ndarray, y: np.ndarray, data_range: float, band_bytes: int = BAND_BYTES) -> float:
    """MS-SSIM of two H x W planes (any real dtype) in bands of at most ``band_bytes`` per float64 array."""
    check_size(*x.shape)
    k = _window(torch.float64, torch.device("cpu")).numpy()
    terms = []
    for level in range(len(WEIGHTS)):
        full, cs = _band_means(x, y, k, data_range, band_bytes)
        if level == len(WEIGHTS) - 1:
            terms.append(full)
        else:
            terms.append(cs)
            x, y = _downsample_plane(x, band_bytes), _downsample_plane(y, band_bytes)
    # as ms_ssim: negative terms count as 0
    return math.prod(max(t, 1e-12) ** w if t > 0 else 0.0 for t, w in zip(terms, WEIGHTS, strict=True))


def ms_ssim_rgb(ref: np.ndarray, dist: np.ndarray, bitdepth: int = 8) -> float:
    """MS-SSIM per channel, averaged (CompressAI convention), in float64."""
    ref, dist = check_pair(ref, dist, bitdepth)
    values = [ms_ssim_plane(ref[..., c], dist[..., c], peak(bitdepth)) for c in range(ref.shape[2])]
    return sum(values) / len(values)


def ms_ssim_gray(ref: np.ndarray, dist: np.ndarray, bitdepth: int = 8) -> float:
    """MS-SSIM of MATLAB ``rgb2gray`` images (Wang's convention), in float64."""
    ref, dist = check_pair(ref, dist, bitdepth)
    gray = [
        np.concatenate([rgb2gray_matlab(im[rows]) for rows in row_blocks(im.shape[0], 24 * im.shape[1])])
        for im in (ref, dist)
    ]
    return ms_ssim_plane(gray[0], gray[1], peak(bitdepth))


def ms_ssim_db(value: float) -> float:
    """MS-SSIM on a dB scale, -10·log10(1 - v), as CompressAI plots it; inf for v = 1."""
    return math.inf if value >= 1.0 else -10.0 * math.log10(1.0 - value)
