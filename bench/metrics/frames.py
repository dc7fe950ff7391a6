"""What metrics are computed on: a checked pair of frame sequences, and one frame of it.

A pair is two ``T x H x W x C`` integer arrays (``T = 1``: an image) or two clips that keep their
stored planes (:class:`StoredPlanes`; ``bench.video.Clip`` is one), so PSNR-Y/YUV can read a
clip's 4:2:0 planes as coded. This module knows the shape of a clip, not the class: metrics do
not import the video I/O that makes clips.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from bench.errors import DataError
from bench.metrics.common import check_pair


class StoredPlanes(Protocol):
    """A clip as stored: ``planes`` Y (then U, V), each ``T x h x w``, plus what reads them right."""

    @property
    def planes(self) -> tuple[np.ndarray, ...]: ...

    @property
    def chroma(self) -> str: ...

    @property
    def bitdepth(self) -> int: ...

    @property
    def matrix(self) -> str: ...

    @property
    def range(self) -> str: ...

    def describe(self) -> dict[str, Any]: ...

    def to_rgb(self) -> np.ndarray:
        """``T x H x W x C`` RGB (or gray) at the clip's bit depth, with its own matrix and range."""
        ...


def _facts(clip: StoredPlanes) -> tuple[object, ...]:
    return clip.planes[0].shape, clip.chroma, clip.bitdepth, clip.matrix, clip.range


class SequencePair:
    """A reference and a distorted sequence, checked once: frames with frames, a clip with a clip."""

    def __init__(self, ref: np.ndarray | StoredPlanes, dist: np.ndarray | StoredPlanes, bitdepth: int) -> None:
        self.frames: tuple[np.ndarray, np.ndarray] | None = None
        self.clips: tuple[StoredPlanes, StoredPlanes] | None = None
        if isinstance(ref, np.ndarray) and isinstance(dist, np.ndarray):
            if ref.ndim != 4 or dist.ndim != 4 or len(ref) != len(dist) or not len(ref):
                raise DataError(
                    f"expected two T x H x W x C arrays of one length T >= 1, got {ref.shape} and {dist.shape}"
                )
            for r, d in zip(ref, dist, strict=True):
                check_pair(r, d, bitdepth)
            self.frames, self.bitdepth, self.n_frames = (ref, dist), bitdepth, len(ref)
        elif isinstance(ref, np.ndarray) or isinstance(dist, np.ndarray):
            raise DataError("compare a clip with a clip or frames with frames, not one with the other")
        else:
            if _facts(ref) != _facts(dist):
                raise DataError(
                    f"reference {ref.describe()} and distorted {dist.describe()} "
                    "differ; sequence metrics compare like with like"
                )
            self.clips, self.bitdepth, self.n_frames = (ref, dist), ref.bitdepth, ref.planes[0].shape[0]

    @functools.cached_property
    def rgb(self) -> tuple[np.ndarray, np.ndarray]:
        """Both sequences as ``T x H x W x C`` frames (a clip converts once, on first use)."""
        if self.frames is not None:
            return self.frames
        assert self.clips is not None
        return self.clips[0].to_rgb(), self.clips[1].to_rgb()

    def __iter__(self) -> Iterator[FramePair]:
        return (FramePair(self, t) for t in range(self.n_frames))


class FramePair:
    """Frame ``t`` of a :class:`SequencePair`; what several metrics share is computed once."""

    def __init__(self, seq: SequencePair, t: int) -> None:
        self.seq, self.t, self.bitdepth = seq, t, seq.bitdepth
        # An image is scored against every decode of an RD sweep: keep its LPIPS features.
        # Frames of a clip are each seen once per call and would only fill that cache.
        self.reuse_reference = seq.frames is not None and seq.n_frames == 1

    @property
    def rgb(self) -> tuple[np.ndarray, np.ndarray]:
        """Reference and distorted ``H x W x C`` frames."""
        ref, dist = self.seq.rgb
        return ref[self.t], dist[self.t]

    @property
    def planes(self) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
        """A clip's stored planes of this frame (reference, distorted); None for frame arrays."""
        if self.seq.clips is None:
            return None
        ref, dist = self.seq.clips
        return [p[self.t] for p in ref.planes], [p[self.t] for p in dist.planes]

    @functools.cached_property
    def ms_ssim_rgb(self) -> float:
        """Shared by ``ms-ssim-rgb`` and its dB form."""
        from bench.metrics.msssim import ms_ssim_rgb

        return ms_ssim_rgb(*self.rgb, self.bitdepth)
