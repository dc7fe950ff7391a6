"""Validated full-reference metrics, keyed like CompressAI's result schema (``psnr-rgb`` ...).

Each ``Metric`` carries what RD code and reports need to know about it (direction, unit, whether
BD deltas are in dB), so nothing downstream special-cases LPIPS or VMAF. ``compute_metrics``
checks a pair once and shares conversions between metrics (one MS-SSIM for its linear and dB
keys, LPIPS reference features across pairs). Heavy modules (torch, ffmpeg) load on first use.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from bench.metrics.common import check_pair
from bench.registry import Registry


class _Pair:
    """A checked reference/distorted pair with conversions computed at most once."""

    def __init__(self, ref: np.ndarray, dist: np.ndarray, bitdepth: int) -> None:
        self.ref, self.dist = check_pair(ref, dist, bitdepth)
        self.bitdepth = bitdepth

    @functools.cached_property
    def ms_ssim_rgb(self) -> float:
        from bench.metrics.msssim import ms_ssim_rgb

        return ms_ssim_rgb(self.ref, self.dist, self.bitdepth)

    def lpips(self, net: str) -> float:
        from bench.metrics.lpips import lpips_distance

        return lpips_distance(self.ref, self.dist, net, self.bitdepth)

    def vmaf(self, model: str) -> float:
        from bench.metrics.vmaf import vmaf_image

        return vmaf_image(self.ref, self.dist, self.bitdepth, model=model)


@dataclass(frozen=True)
class Metric:
    """One metric: its key, how to read it, and how to compute it from a pair."""

    key: str
    higher_is_better: bool
    unit: str  # "dB" or ""
    is_db: bool  # BD deltas of this metric are dB differences (BD-PSNR style)
    description: str
    from_pair: Callable[[_Pair], float]

    def compute(self, ref: np.ndarray, dist: np.ndarray, bitdepth: int = 8) -> float:
        """Compute this metric for one H x W x C pair."""
        return self.from_pair(_Pair(ref, dist, bitdepth))


METRICS: Registry[Metric] = Registry("metric")


def _add(key: str, from_pair: Callable[[_Pair], float], description: str, *,
         higher_is_better: bool = True, unit: str = "dB") -> None:
    METRICS.register(key)(Metric(key, higher_is_better, unit, unit == "dB", description, from_pair))


def _psnr(name: str) -> Callable[[_Pair], float]:
    def run(p: _Pair) -> float:
        from bench.metrics import psnr

        return getattr(psnr, name)(p.ref, p.dist, p.bitdepth)

    return run


def _ms_ssim_db(p: _Pair) -> float:
    from bench.metrics.msssim import ms_ssim_db

    return ms_ssim_db(p.ms_ssim_rgb)


_add("psnr-rgb", _psnr("psnr_rgb"), "PSNR, MSE over all channels, peak 2^d-1")
_add("psnr-y", _psnr("psnr_y"), "PSNR of BT.601 full-range luma")
_add("psnr-yuv", _psnr("psnr_yuv"), "(6 Y + U + V) / 8 per-plane PSNR, BT.601 full range")
_add("psnr-yuv-pooled", _psnr("psnr_yuv_pooled"), "PSNR of the MSE pooled over Y, U, V (4:4:4 BT.601 full range)")
_add("ms-ssim-rgb", lambda p: p.ms_ssim_rgb, "MS-SSIM per channel, averaged", unit="")
_add("ms-ssim-rgb-db", _ms_ssim_db, "-10 log10(1 - MS-SSIM)")
_add("lpips-alex", lambda p: p.lpips("alex"), "LPIPS v0.1, AlexNet", higher_is_better=False,
     unit="")
_add("lpips-vgg", lambda p: p.lpips("vgg"), "LPIPS v0.1, VGG16", higher_is_better=False, unit="")
_add("vmaf", lambda p: p.vmaf("vmaf_v0.6.1"), "VMAF vmaf_v0.6.1 (libvmaf)", unit="")
_add("vmaf-neg", lambda p: p.vmaf("vmaf_v0.6.1neg"), "VMAF NEG vmaf_v0.6.1neg (libvmaf)", unit="")


def compute_metrics(ref: np.ndarray, dist: np.ndarray, keys: Iterable[str],
                    bitdepth: int = 8) -> dict[str, float]:
    """Compute the named metrics for one pair; unknown keys fail before any work is done."""
    metrics = [METRICS.get(k) for k in keys]
    pair = _Pair(ref, dist, bitdepth)
    return {m.key: m.from_pair(pair) for m in metrics}
