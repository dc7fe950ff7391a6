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
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from bench.errors import DataError
from bench.metrics.common import check_pair, peak, rgb2gray_matlab

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WIN_SIZE, WIN_SIGMA, K1, K2 = 11, 1.5, 0.01, 0.03
# Each scale halves (rounding up); the coarsest (1/16) must still hold one 11x11 window.
MIN_SIDE = (WIN_SIZE - 1) * 2 ** (len(WEIGHTS) - 1) + 1  # 161


def _window(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    x = torch.arange(WIN_SIZE, dtype=dtype, device=device) - (WIN_SIZE - 1) / 2
    g = torch.exp(-(x**2) / (2 * WIN_SIGMA**2))
    return g / g.sum()


def _blur(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian per channel, 'valid' (MATLAB ``filter2(w, x, 'valid')``).

    Without gradients on the CPU (evaluation) scipy's separable filter does the same sums ~20x
    faster than torch's grouped float64 convolution; the loss path stays in torch."""
    if x.device.type == "cpu" and not (x.requires_grad or g.requires_grad):
        k, r = g.numpy(), (g.numel() - 1) // 2
        a = ndimage.correlate1d(x.numpy(), k, axis=-1, mode="constant")[..., r:-r]
        a = ndimage.correlate1d(a, k, axis=-2, mode="constant")[..., r:-r, :]
        return torch.from_numpy(np.ascontiguousarray(a))
    c = x.shape[1]
    x = F.conv2d(x, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _ssim_cs(x: torch.Tensor, y: torch.Tensor, g: torch.Tensor,
             data_range: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean SSIM and mean contrast-structure per (image, channel)."""
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    mu_x, mu_y = _blur(x, g), _blur(y, g)
    sxx = _blur(x * x, g) - mu_x**2
    syy = _blur(y * y, g) - mu_y**2
    sxy = _blur(x * y, g) - mu_x * mu_y
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    ssim = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs
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
            "SSIM / leave MS-SSIM out of this dataset's metrics")


def _check_nchw(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape or x.ndim != 4:
        raise DataError(f"(MS-)SSIM needs two NCHW tensors of one shape, got {tuple(x.shape)} "
                        f"and {tuple(y.shape)}")


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


def _to_tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(img.astype(np.float64)).permute(2, 0, 1).unsqueeze(0)


def ms_ssim_rgb(ref: np.ndarray, dist: np.ndarray, bitdepth: int = 8) -> float:
    """MS-SSIM per channel, averaged (CompressAI convention), in float64."""
    ref, dist = check_pair(ref, dist, bitdepth)
    return float(ms_ssim(_to_tensor(ref), _to_tensor(dist), peak(bitdepth))[0])


def ms_ssim_gray(ref: np.ndarray, dist: np.ndarray, bitdepth: int = 8) -> float:
    """MS-SSIM of MATLAB ``rgb2gray`` images (Wang's convention), in float64."""
    ref, dist = check_pair(ref, dist, bitdepth)
    gray = [rgb2gray_matlab(im)[:, :, None] for im in (ref, dist)]
    return float(ms_ssim(_to_tensor(gray[0]), _to_tensor(gray[1]), peak(bitdepth))[0])


def ms_ssim_db(value: float) -> float:
    """MS-SSIM on a dB scale, -10·log10(1 - v), as CompressAI plots it; inf for v = 1."""
    return math.inf if value >= 1.0 else -10.0 * math.log10(1.0 - value)
