"""PSNR in float64: RGB (also the d-bit HDR PSNR), BT.601 luma, 6:1:1 weighted YUV, pooled YUV.

Two YUV PSNRs, because papers mean either: ``psnr-yuv`` is the video-coding (JVET/AOM CTC)
weighted mean of per-plane PSNRs, (6·Y + U + V)/8; ``psnr-yuv-pooled`` is the PSNR of the MSE
pooled over every Y, U and V sample (equal plane weights at 4:4:4) -- the L2 over a YUV clip the
sandwich release trains video on. They diverge when a plane is far off: a luma-only decode
(chroma at mid-grey) keeps a high ``psnr-yuv`` and a low ``psnr-yuv-pooled``.

Identical inputs give ``math.inf`` (MSE 0), like CompressAI, skimage and ffmpeg's psnr filter:
a cap would be an arbitrary number that looks like a measurement. JSON writers turn it into null.

All PSNRs use the peak 2^d - 1 of the bit depth, never the data's own maximum. Squared errors are
summed over blocks of rows (:func:`bench.metrics.common.row_blocks`), so an image is never held whole
in float64; an image that fits one block gives the same bits as a whole-image mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from bench.errors import DataError
from bench.metrics.common import check_pair, peak, rgb_to_luma, rgb_to_ycbcr, row_blocks

YUV_WEIGHTS = (6.0, 1.0, 1.0)  # Y:U:V, the usual video-coding convention (JVET/AOM CTC)


def psnr_from_mse(mse: float, bitdepth: int) -> float:
    """10·log10(peak² / MSE); inf for MSE 0."""
    return math.inf if mse == 0 else 10.0 * math.log10(peak(bitdepth) ** 2 / mse)


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def _plane_mses(ref: np.ndarray, dist: np.ndarray, planes: Callable[[np.ndarray], Sequence[np.ndarray]]) -> list[float]:
    """MSE of each float64 plane ``planes`` makes of two checked H x W x C images, a block of rows at a time."""
    sse: list[float] = []
    count: list[int] = []
    for rows in row_blocks(ref.shape[0], 8 * ref.shape[1] * ref.shape[2]):
        pairs = list(zip(planes(ref[rows]), planes(dist[rows]), strict=True))
        sse, count = sse or [0.0] * len(pairs), count or [0] * len(pairs)
        for i, (a, b) in enumerate(pairs):
            sse[i] += float(np.sum((a - b) ** 2))
            count[i] += a.size
    return [s / n for s, n in zip(sse, count, strict=True)]


def _float64(img: np.ndarray) -> tuple[np.ndarray]:
    return (img.astype(np.float64),)


def _luma(img: np.ndarray) -> tuple[np.ndarray]:
    return (rgb_to_luma(img),)


def plane_psnr(ref: np.ndarray, dist: np.ndarray, bitdepth: int = 8) -> float:
    """PSNR of one plane (any shape, e.g. a stored Y or subsampled U plane), unchecked range."""
    if np.shape(ref) != np.shape(dist):
        raise DataError(f"planes differ in shape: {np.shape(ref)} vs {np.shape(dist)}")
    return psnr_from_mse(_mse(np.asarray(ref), np.asarray(dist)), bitdepth)


def psnr_rgb(ref: np.ndarray, dist: np.ndarray, bitdepth: int = 8) -> float:
    """PSNR with the MSE over all pixels and channels (not a mean of per-channel PSNRs)."""
    ref, dist = check_pair(ref, dist, bitdepth)
    return psnr_from_mse(_plane_mses(ref, dist, _float64)[0], bitdepth)


def psnr_y(ref: np.ndarray, dist: np.ndarray, bitdepth: int = 8) -> float:
    """PSNR of BT.601 full-range luma (unrounded); a 1-channel image is its own luma.

    Differs from MATLAB ``rgb2ycbcr`` (limited range, 16–235), used by some super-resolution papers.
    """
    ref, dist = check_pair(ref, dist, bitdepth)
    return psnr_from_mse(_plane_mses(ref, dist, _luma)[0], bitdepth)


def psnr_yuv_planes(ref_planes: Sequence[np.ndarray], dist_planes: Sequence[np.ndarray], bitdepth: int = 8) -> float:
    """(6·PSNR_Y + PSNR_U + PSNR_V) / 8 from Y, U, V planes (any chroma subsampling).

    Any plane reproduced exactly makes the result inf, as its PSNR is inf.
    """
    if len(ref_planes) != 3 or len(dist_planes) != 3:
        raise DataError(f"PSNR-YUV needs 3 planes each, got {len(ref_planes)} and {len(dist_planes)}")
    psnrs = [plane_psnr(r, d, bitdepth) for r, d in zip(ref_planes, dist_planes, strict=True)]
    return sum(w * p for w, p in zip(YUV_WEIGHTS, psnrs, strict=True)) / sum(YUV_WEIGHTS)


def psnr_yuv_pooled_planes(
    ref_planes: Sequence[np.ndarray], dist_planes: Sequence[np.ndarray], bitdepth: int = 8
) -> float:
    """PSNR of the squared error pooled over every sample of the Y, U, V planes (any subsampling:
    each plane counts by its samples, so 4:4:4 weighs the planes equally)."""
    if len(ref_planes) != 3 or len(dist_planes) != 3:
        raise DataError(f"PSNR-YUV needs 3 planes each, got {len(ref_planes)} and {len(dist_planes)}")
    sse, count = 0.0, 0
    for r, d in zip(ref_planes, dist_planes, strict=True):
        if np.shape(r) != np.shape(d):
            raise DataError(f"planes differ in shape: {np.shape(r)} vs {np.shape(d)}")
        sse += _mse(np.asarray(r), np.asarray(d)) * np.size(r)
        count += np.size(r)
    return psnr_from_mse(sse / count, bitdepth)


def psnr_yuv_pooled(ref: np.ndarray, dist: np.ndarray, bitdepth: int = 8) -> float:
    """Pooled YUV PSNR of RGB images converted with BT.601 full range (JFIF) at 4:4:4, unrounded."""
    ref, dist = check_pair(ref, dist, bitdepth)
    return psnr_from_mse(sum(_plane_mses(ref, dist, lambda im: rgb_to_ycbcr(im, bitdepth))) / 3, bitdepth)


def psnr_yuv(ref: np.ndarray, dist: np.ndarray, bitdepth: int = 8) -> float:
    """6:1:1 YUV PSNR of RGB images converted with BT.601 full range (JFIF), float64, unrounded."""
    ref, dist = check_pair(ref, dist, bitdepth)
    psnrs = [psnr_from_mse(m, bitdepth) for m in _plane_mses(ref, dist, lambda im: rgb_to_ycbcr(im, bitdepth))]
    return sum(w * p for w, p in zip(YUV_WEIGHTS, psnrs, strict=True)) / sum(YUV_WEIGHTS)
