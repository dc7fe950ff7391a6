"""Validated full-reference metrics for images and video, keyed like CompressAI's result schema
(``psnr-rgb`` ...): one registry, one spelling, one way to compute.

Each ``Metric`` carries what RD code and reports need to know about it (direction, unit, whether
BD deltas are in dB), so nothing downstream special-cases LPIPS or VMAF, and its pooling rule:
most metrics score each frame alone and a sequence gets the mean of its frame values (the CTC
convention: the mean of frame PSNRs, not the PSNR of the pooled MSE); VMAF scores the frames in
order in one libvmaf run (motion features; :mod:`bench.metrics.vmaf`, through ffmpeg-quality-metrics)
and takes the mean of its frame scores. An image is a one-frame sequence, so its pooled value is its
frame value.

On a clip with stored planes (:class:`bench.metrics.frames.StoredPlanes`) ``psnr-y``,
``psnr-yuv`` and ``psnr-yuv-pooled`` read the planes as coded (4:2:0 chroma at its own
resolution) and the RGB metrics the clip's ``to_rgb()``; on frame arrays the YUV PSNRs use
BT.601 full-range YCbCr (:mod:`bench.metrics.psnr`). Heavy modules (torch, ffmpeg) load on
first use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bench.errors import DataError
from bench.metrics import psnr
from bench.metrics.frames import FramePair, SequencePair, StoredPlanes
from bench.registry import Registry, UnknownNameError

Modality = Literal["image", "video"]
VMAF_MODELS = {"vmaf": "vmaf_v0.6.1", "vmaf-neg": "vmaf_v0.6.1neg"}  # key -> libvmaf's built-in model


@dataclass(frozen=True)
class MeanOfFrames:
    """Score each frame pair alone; a sequence's value is the mean of its frame values."""

    frame: Callable[[FramePair], float]

    @staticmethod
    def pool(values: list[float]) -> float:
        return float(np.mean(values))


@dataclass(frozen=True)
class WholeSequence:
    """Score the frames in order in one computation: ``(per-frame values, pooled value)``."""

    run: Callable[[SequencePair, int | None], tuple[list[float], float]]


@dataclass(frozen=True)
class Metric:
    """One metric: its key, how to read it, how to compute it and which inputs it scores."""

    key: str
    higher_is_better: bool
    unit: str  # "dB" or ""
    is_db: bool  # BD deltas of this metric are dB differences (BD-PSNR style)
    description: str
    pooling: MeanOfFrames | WholeSequence
    modalities: frozenset[str]


METRICS: Registry[Metric] = Registry("metric")


def _add(
    key: str,
    pooling: MeanOfFrames | WholeSequence,
    description: str,
    *,
    higher_is_better: bool = True,
    unit: str = "dB",
    modalities: tuple[Modality, ...] = ("image", "video"),
) -> None:
    METRICS.register(key)(
        Metric(key, higher_is_better, unit, unit == "dB", description, pooling, frozenset(modalities))
    )


def _psnr_y(f: FramePair) -> float:
    if f.planes is None:
        return psnr.psnr_y(*f.rgb, f.bitdepth)
    return psnr.plane_psnr(f.planes[0][0], f.planes[1][0], f.bitdepth)


def _psnr_yuv(on_planes: Callable[..., float], on_rgb: Callable[..., float], key: str) -> MeanOfFrames:
    def run(f: FramePair) -> float:
        if f.planes is None:
            return on_rgb(*f.rgb, f.bitdepth)
        if len(f.planes[0]) == 1:
            raise DataError(f"{key} needs chroma planes; a 4:0:0 clip has psnr-y only")
        return on_planes(*f.planes, f.bitdepth)

    return MeanOfFrames(run)


def _ms_ssim_db(f: FramePair) -> float:
    from bench.metrics.msssim import ms_ssim_db

    return ms_ssim_db(f.ms_ssim_rgb)


def _lpips(net: str) -> MeanOfFrames:
    def run(f: FramePair) -> float:
        from bench.metrics.lpips import lpips_distance

        return lpips_distance(*f.rgb, net, f.bitdepth, cache=f.reuse_reference)

    return MeanOfFrames(run)


def _vmaf(model: str) -> WholeSequence:
    def run(seq: SequencePair, n_threads: int | None) -> tuple[list[float], float]:
        from bench.metrics.vmaf import vmaf_sequence

        got = vmaf_sequence(seq, model, n_threads)
        return got["frames"], got["vmaf"]

    return WholeSequence(run)


_add("psnr-rgb", MeanOfFrames(lambda f: psnr.psnr_rgb(*f.rgb, f.bitdepth)), "PSNR, MSE over all channels, peak 2^d-1")
_add("psnr-y", MeanOfFrames(_psnr_y), "PSNR of luma: a clip's stored Y, else BT.601 full-range luma")
_add(
    "psnr-yuv",
    _psnr_yuv(psnr.psnr_yuv_planes, psnr.psnr_yuv, "psnr-yuv"),
    "(6 Y + U + V) / 8 per-plane PSNR: a clip's stored planes, else BT.601 full range 4:4:4",
)
_add(
    "psnr-yuv-pooled",
    _psnr_yuv(psnr.psnr_yuv_pooled_planes, psnr.psnr_yuv_pooled, "psnr-yuv-pooled"),
    "PSNR of the MSE pooled over Y, U, V: a clip's stored planes, else BT.601 full range 4:4:4",
)
_add("ms-ssim-rgb", MeanOfFrames(lambda f: f.ms_ssim_rgb), "MS-SSIM per channel, averaged", unit="")
# Images only: for a sequence, the mean of frame dBs and the dB of the mean MS-SSIM both have
# their papers; say ms-ssim-rgb and convert.
_add("ms-ssim-rgb-db", MeanOfFrames(_ms_ssim_db), "-10 log10(1 - MS-SSIM)", modalities=("image",))
_add("lpips-alex", _lpips("alex"), "LPIPS v0.1, AlexNet", higher_is_better=False, unit="")
_add("lpips-vgg", _lpips("vgg"), "LPIPS v0.1, VGG16", higher_is_better=False, unit="")
for _key, _model in VMAF_MODELS.items():
    _add(_key, _vmaf(_model), f"VMAF {_model} (libvmaf), pooled mean over the frames in order", unit="")


def metric_names(modality: Modality) -> list[str]:
    """The keys that score this kind of input."""
    return [k for k in METRICS.names() if modality in METRICS.get(k).modalities]


def check_metric(key: str, modality: Modality) -> Metric:
    """The registry entry for ``key``; an unknown key, or one that does not score ``modality``,
    raises :class:`UnknownNameError` with one line listing the choices."""
    choices = ", ".join(metric_names(modality))
    if key not in METRICS:
        raise UnknownNameError(f"unknown metric {key!r}; choose from: {choices}")
    metric = METRICS.get(key)
    if modality not in metric.modalities:
        kind = "an image" if modality == "image" else "a sequence"
        raise UnknownNameError(f"{key!r} is not {kind} metric; choose from: {choices}")
    return metric


def bd_axis(key: str) -> tuple[bool, bool]:
    """``(higher_is_better, is_db)`` of a result key for BD: the registry's declaration, else what the name says
    (a published curve's own key), else higher-is-better and not dB. One rule for the run's summary and the
    report, so a BD figure computed by either has the same orientation."""
    if key in METRICS:
        m = METRICS.get(key)
        return m.higher_is_better, m.is_db
    from bench.rd.curves import metric_axis  # here, not at the top: `bench --help` imports this package

    return metric_axis(key) or (True, False)


@dataclass(frozen=True)
class Scores:
    """Per-frame values and the pooled value of each metric key, in the order asked."""

    per_frame: dict[str, list[float]]
    pooled: dict[str, float]


def sequence_metrics(
    ref: np.ndarray | StoredPlanes,
    dist: np.ndarray | StoredPlanes,
    keys: Iterable[str],
    bitdepth: int = 8,
    n_threads: int | None = None,
) -> Scores:
    """The named metrics of two ``T x H x W x C`` frame arrays at ``bitdepth`` (``T = 1``: an image)
    or two clips with stored planes; names are checked before any work is done."""
    image = isinstance(ref, np.ndarray) and ref.ndim == 4 and len(ref) == 1
    metrics = [check_metric(k, "image" if image else "video") for k in dict.fromkeys(keys)]
    seq = SequencePair(ref, dist, bitdepth)
    means = [(m.key, m.pooling) for m in metrics if isinstance(m.pooling, MeanOfFrames)]
    per_frame: dict[str, list[float]] = {key: [] for key, _ in means}
    for frame in seq:
        for key, rule in means:
            per_frame[key].append(rule.frame(frame))
    pooled = {key: rule.pool(per_frame[key]) for key, rule in means}
    for m in metrics:
        if isinstance(m.pooling, WholeSequence):
            per_frame[m.key], pooled[m.key] = m.pooling.run(seq, n_threads)
    return Scores({m.key: per_frame[m.key] for m in metrics}, {m.key: pooled[m.key] for m in metrics})


def compute_metrics(ref: np.ndarray, dist: np.ndarray, keys: Iterable[str], bitdepth: int = 8) -> dict[str, float]:
    """The named metrics of one ``H x W x C`` (or ``H x W``) image pair: the pooled values of
    :func:`sequence_metrics` on a one-frame sequence."""

    def one_frame(img: np.ndarray) -> np.ndarray:
        img = np.asarray(img)
        return img[None, ..., None] if img.ndim == 2 else img[None]

    return sequence_metrics(one_frame(ref), one_frame(dist), keys, bitdepth).pooled
