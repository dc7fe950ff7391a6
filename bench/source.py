"""The unit of work: one eval item's frames with the facts a method and a metric need.

An image is a clip of one frame. Methods, the cell evaluation and the metrics all take a
:class:`Source`, so images and video go through one code path; only what truly differs (a
stream's bit rate needs a frame rate) hangs off ``fps``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True)
class Source:
    """``frames`` is ``T x H x W x C`` (uint8 at 8 bits, uint16 deeper); ``fps`` None means a still image.

    ``measured_depth``: a shallower image held on the scenario's deeper scale (a 10-bit image in a
    16-bit experiment) is measured at its own depth and peak.
    """

    name: str
    frames: np.ndarray
    bitdepth: int
    fps: Fraction | None = None
    measured_depth: int | None = None

    def __post_init__(self) -> None:
        if self.frames.ndim != 4 or not self.frames.shape[0]:
            raise ValueError(f"{self.name}: a source is T x H x W x C frames, got shape {self.frames.shape}")

    @classmethod
    def still(cls, name: str, image: np.ndarray, bitdepth: int, measured_depth: int | None = None) -> Source:
        """A still image (H x W x C) as a one-frame source."""
        return cls(name, image[None], bitdepth, None, measured_depth)

    @property
    def image(self) -> np.ndarray:
        """The frame of a still image (H x W x C); methods that code single images read this."""
        if self.frames.shape[0] != 1:
            raise ValueError(f"{self.name} has {self.frames.shape[0]} frames; this method codes single images")
        return self.frames[0]

    def stream_fps(self) -> Fraction:
        """The frame rate a stream's bit rate is counted at; a still image has none."""
        if self.fps is None:
            raise ValueError(f"{self.name} is a still image; this method codes clips at a frame rate")
        return self.fps

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def channels(self) -> int:
        return int(self.frames.shape[3])
