"""Sequence metrics: per-frame values and one value per sequence, keyed like the image metrics.

Inputs are two :class:`bench.video.Clip` (planes as coded; same size, frames, chroma, depth,
matrix and range) or two ``T x H x W x C`` RGB / gray frame arrays at ``bitdepth``.

- ``psnr-y``, ``psnr-yuv`` (6:1:1), ``psnr-yuv-pooled`` (MSE over all samples): on the stored planes of a clip (4:2:0 chroma at its own
  resolution); on BT.601 full-range YCbCr of RGB arrays (``bench.metrics.psnr``).
- ``psnr-rgb``, ``ms-ssim-rgb``, ``lpips-alex``/``lpips-vgg``: on RGB (a clip's ``to_rgb()``
  with its own matrix and range).
- The sequence value of a per-frame metric is the mean over frames (the CTC convention: mean of
  frame PSNRs, not the PSNR of the pooled MSE).
- ``vmaf``, ``vmaf-neg``: libvmaf over the whole sequence in one call per model (motion
  features need the frames in order), pooled mean, per-frame scores kept. A clip goes in as its
  raw planes (4:0:0 gets mid-grey chroma, which VMAF ignores); RGB arrays are converted like
  ``vmaf_image`` does (BT.601 limited range 4:4:4).
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.errors import DataError
from bench.metrics import psnr
from bench.metrics.common import check_pair
from bench.video.clip import Clip
from bench.video.io import write_yuv

VIDEO_METRICS = ("psnr-y", "psnr-yuv", "psnr-yuv-pooled", "psnr-rgb", "ms-ssim-rgb", "lpips-alex", "lpips-vgg",
                 "vmaf", "vmaf-neg")
_VMAF_MODELS = {"vmaf": "vmaf_v0.6.1", "vmaf-neg": "vmaf_v0.6.1neg"}


@dataclass(frozen=True)
class SequenceScores:
    """Per-frame lists and per-sequence values for each metric key."""

    per_frame: dict[str, list[float]]
    sequence: dict[str, float]


class _Pair:
    """Two checked sequences with the RGB view computed at most once."""

    def __init__(self, ref: Clip | np.ndarray, dist: Clip | np.ndarray, bitdepth: int) -> None:
        if isinstance(ref, Clip) != isinstance(dist, Clip):
            raise DataError("compare a clip with a clip or frames with frames, not one with the other")
        if isinstance(ref, Clip):
            facts = [(c.width, c.height, c.n_frames, c.chroma, c.bitdepth, c.matrix, c.range)
                     for c in (ref, dist)]
            if facts[0] != facts[1]:
                raise DataError(f"reference {ref.describe()} and distorted {dist.describe()} "
                                "differ; sequence metrics compare like with like")
            self.bitdepth = ref.bitdepth
        else:
            if ref.ndim != 4 or ref.shape != dist.shape:
                raise DataError(f"expected two T x H x W x C arrays of one shape, got {ref.shape} "
                                f"and {dist.shape}")
            for r, d in zip(ref, dist, strict=True):
                check_pair(r, d, bitdepth)
            self.bitdepth = bitdepth
        self.ref, self.dist = ref, dist
        self._rgb: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def is_clip(self) -> bool:
        return isinstance(self.ref, Clip)

    @property
    def rgb(self) -> tuple[np.ndarray, np.ndarray]:
        if self._rgb is None:
            self._rgb = ((self.ref.to_rgb(), self.dist.to_rgb()) if self.is_clip
                         else (self.ref, self.dist))
        return self._rgb

    @property
    def n_frames(self) -> int:
        return self.ref.n_frames if self.is_clip else self.ref.shape[0]

    def per_frame(self, fn: Callable[[int], float]) -> list[float]:
        return [fn(t) for t in range(self.n_frames)]


def _psnr_y(p: _Pair) -> list[float]:
    if p.is_clip:
        return p.per_frame(lambda t: psnr.plane_psnr(p.ref.planes[0][t], p.dist.planes[0][t],
                                                     p.bitdepth))
    return p.per_frame(lambda t: psnr.psnr_y(p.ref[t], p.dist[t], p.bitdepth))


def _yuv(planes_fn: Callable[..., float], rgb_fn: Callable[..., float], key: str) -> Callable[[_Pair], list[float]]:
    def run(p: _Pair) -> list[float]:
        if p.is_clip:
            if p.ref.chroma == "400":
                raise DataError(f"{key} needs chroma planes; a 4:0:0 clip has psnr-y only")
            return p.per_frame(lambda t: planes_fn([q[t] for q in p.ref.planes],
                                                   [q[t] for q in p.dist.planes], p.bitdepth))
        return p.per_frame(lambda t: rgb_fn(p.ref[t], p.dist[t], p.bitdepth))

    return run


def _psnr_rgb(p: _Pair) -> list[float]:
    ref, dist = p.rgb
    return p.per_frame(lambda t: psnr.psnr_rgb(ref[t], dist[t], p.bitdepth))


def _ms_ssim(p: _Pair) -> list[float]:
    from bench.metrics.msssim import ms_ssim_rgb

    ref, dist = p.rgb
    return p.per_frame(lambda t: ms_ssim_rgb(ref[t], dist[t], p.bitdepth))


def _lpips(net: str) -> Callable[[_Pair], list[float]]:
    def run(p: _Pair) -> list[float]:
        from bench.metrics.lpips import lpips_distance

        ref, dist = p.rgb
        return p.per_frame(lambda t: lpips_distance(ref[t], dist[t], net, p.bitdepth, cache=False))

    return run


_PER_FRAME: dict[str, Callable[[_Pair], list[float]]] = {
    "psnr-y": _psnr_y, "psnr-yuv": _yuv(psnr.psnr_yuv_planes, psnr.psnr_yuv, "psnr-yuv"),
    "psnr-yuv-pooled": _yuv(psnr.psnr_yuv_pooled_planes, psnr.psnr_yuv_pooled, "psnr-yuv-pooled"),
    "psnr-rgb": _psnr_rgb, "ms-ssim-rgb": _ms_ssim,
    "lpips-alex": _lpips("alex"), "lpips-vgg": _lpips("vgg")}


def _vmaf_input(seq: Clip | np.ndarray, bitdepth: int, path: Path) -> str:
    """Write one sequence as raw planar YUV libvmaf takes; return its pix_fmt."""
    from bench.metrics.vmaf import image_to_yuv444

    if isinstance(seq, Clip):
        planes = list(seq.planes)
        if seq.chroma == "400":
            h, w = (seq.height + 1) // 2, (seq.width + 1) // 2
            grey = np.full((seq.n_frames, h, w), 1 << (seq.bitdepth - 1), planes[0].dtype)
            planes += [grey, grey]
        clip = Clip(tuple(planes), "420" if seq.chroma == "400" else seq.chroma, seq.bitdepth,
                    seq.fps)
        write_yuv(path, clip)
        return clip.pix_fmt
    converted = [image_to_yuv444(frame, bitdepth) for frame in seq]
    depth = converted[0][1]
    data = np.stack([c[0] for c in converted])
    path.write_bytes(data.astype(data.dtype.newbyteorder("<")).tobytes())
    return "yuv444p" if depth == 8 else f"yuv444p{depth}le"


def _vmaf(p: _Pair, keys: list[str], n_threads: int | None) -> dict[str, dict]:
    from bench.metrics.vmaf import vmaf_video

    with tempfile.TemporaryDirectory(prefix="bench-video-vmaf-") as tmp:
        ref_path, dist_path = Path(tmp) / "ref.yuv", Path(tmp) / "dist.yuv"
        fmt = _vmaf_input(p.ref, p.bitdepth, ref_path)
        _vmaf_input(p.dist, p.bitdepth, dist_path)
        h, w = (p.ref.height, p.ref.width) if p.is_clip else p.ref.shape[1:3]
        return {k: vmaf_video(ref_path, dist_path, width=w, height=h, pix_fmt=fmt,
                              model=_VMAF_MODELS[k], n_threads=n_threads) for k in keys}


def sequence_metrics(ref: Clip | np.ndarray, dist: Clip | np.ndarray, keys: Iterable[str],
                     bitdepth: int = 8, n_threads: int | None = None) -> SequenceScores:
    """Compute the named metrics for one sequence pair; unknown keys fail before any work."""
    keys = list(keys)
    unknown = [k for k in keys if k not in VIDEO_METRICS]
    if unknown:
        raise DataError(f"unknown video metric(s) {', '.join(unknown)}; choose from: "
                        f"{', '.join(VIDEO_METRICS)}")
    pair = _Pair(ref, dist, bitdepth)
    per_frame = {k: _PER_FRAME[k](pair) for k in keys if k in _PER_FRAME}
    sequence = {k: float(np.mean(v)) for k, v in per_frame.items()}
    vmaf_keys = [k for k in keys if k in _VMAF_MODELS]
    if vmaf_keys:
        for k, got in _vmaf(pair, vmaf_keys, n_threads).items():
            if got["n_frames"] != pair.n_frames:
                raise DataError(f"libvmaf scored {got['n_frames']} frames, expected {pair.n_frames}")
            per_frame[k], sequence[k] = got["frames"], got["vmaf"]
    return SequenceScores({k: per_frame[k] for k in keys}, {k: sequence[k] for k in keys})
