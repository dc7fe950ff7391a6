"""The one codec interface: frames in, real bitstream + decoded frames + timings + provenance out.

Frames are numpy ``T x H x W x C`` (C >= 1), dtype uint8 for 8-bit and uint16 for 9-16 bit
content (values in ``[0, 2**bitdepth - 1]``); an image is a one-frame clip (``encode_image``).
The ffmpeg codecs also take their own planes, each ``T x h x w``, coded as they are and given
back as planes. ``bpp`` is ``8 * bytes / (T * H * W)`` on the pixels handed in, so padding a codec
needs never changes the rate denominator; ``kbps`` is the stream's rate at the clip's frame rate.

A codec is all-intra (``inter = False``: every frame coded on its own, one frame per call; it
serves image experiments) or predicts between frames (``inter = True``: low-delay P; it serves
video experiments).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, ClassVar, Generic, TypeVar, overload

import numpy as np

from bench.registry import Registry

Planes = tuple[np.ndarray, ...]
Decoded = TypeVar("Decoded", np.ndarray, Planes)


def kbps(nbytes: int | float, n_frames: int, fps: Fraction | float) -> float:
    """Stream bit rate at the sequence's frame rate: 8 * bytes * fps / frames / 1000."""
    return 8.0 * nbytes * float(fps) / n_frames / 1000.0


@dataclass(frozen=True)
class EncodeResult(Generic[Decoded]):
    """What one real encode/decode produced. ``bitstream`` is what the rate is counted from;
    ``decoded`` has the form the input had (frames, an image, or planes)."""

    bitstream: bytes
    decoded: Decoded
    encode_s: float
    decode_s: float
    command: str
    size: tuple[int, int, int]  # T, H, W of the input: the pixels the rate is counted over
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return len(self.bitstream)

    def bpp(self) -> float:
        t, h, w = self.size
        return 8.0 * self.nbytes / (t * h * w)

    def kbps(self, fps: Fraction | float) -> float:
        return kbps(self.nbytes, self.size[0], fps)


class Codec(ABC):
    """A real codec at a fixed configuration; ``encode`` takes the rate parameter.

    Subclasses set ``name`` (the registry key), ``inter`` (see the module docstring),
    ``param_name`` (``quality``, ``qp``, ``step``) and ``higher_param_is_better`` (True for
    quality, False for QP/step), and accept their options as keyword arguments so a YAML
    ``options:`` mapping can be passed straight in. The last two may be set per instance when an
    option changes the parameter (JPEG with flat tables takes a step, not a quality).
    """

    name: ClassVar[str]
    inter: ClassVar[bool]
    param_name: str
    higher_param_is_better: bool

    @overload
    def encode(
        self, frames: np.ndarray, param: float, bitdepth: int = 8, fps: Fraction | float = 25
    ) -> EncodeResult[np.ndarray]: ...

    @overload
    def encode(
        self, frames: Sequence[np.ndarray], param: float, bitdepth: int = 8, fps: Fraction | float = 25
    ) -> EncodeResult[Planes]: ...

    def encode(
        self, frames: np.ndarray | Sequence[np.ndarray], param: float, bitdepth: int = 8, fps: Fraction | float = 25
    ) -> EncodeResult[Any]:
        """Encode every frame at ``param`` and decode them again with the real decoder.

        ``fps`` is the frame rate an inter codec's stream carries; all-intra codecs ignore it."""
        if isinstance(frames, np.ndarray) and frames.ndim != 4:
            raise ValueError(
                f"{self.name} takes T x H x W x C frames, got shape {frames.shape}; pass one image to encode_image"
            )
        n = len(frames) if isinstance(frames, np.ndarray) else len(np.asarray(frames[0]))
        if not self.inter and n != 1:
            raise ValueError(
                f"{self.name} is an all-intra image codec: it codes one frame per call, "
                f"got {n}; a video takes one of: {', '.join(codec_names(inter=True))}"
            )
        return self._encode(frames, param, bitdepth, fps)

    def encode_image(self, image: np.ndarray, param: float, bitdepth: int = 8) -> EncodeResult[np.ndarray]:
        """One ``H x W`` or ``H x W x C`` image as a one-frame clip; ``decoded`` is ``H x W x C``."""
        res = self.encode(as_hwc(image)[None], param, bitdepth)
        return replace(res, decoded=res.decoded[0])

    @abstractmethod
    def _encode(
        self, frames: np.ndarray | Sequence[np.ndarray], param: float, bitdepth: int, fps: Fraction | float
    ) -> EncodeResult[Any]:
        """The codec's own encode + decode; ``frames`` already hold one frame for intra codecs."""

    @abstractmethod
    def check_param(self, param: float) -> None:
        """Raise ValueError, naming the valid range, for a rate parameter this codec cannot take.

        The plan checks every rate point with it, so a bad one fails before any work, not mid-run."""

    @abstractmethod
    def version(self) -> str:
        """The library/binary version that actually runs (e.g. ``libjpeg-turbo 3.0.4``)."""

    def options(self) -> dict[str, Any]:
        """The configuration this instance was built with (for results ``meta``)."""
        return {}

    def describe(self) -> dict[str, Any]:
        return {"codec": self.name, "param": self.param_name, "version": self.version(), **self.options()}


CODECS: Registry[type[Codec]] = Registry("codec")


def codec_names(inter: bool) -> list[str]:
    """The registered codecs that predict between frames (``inter``), or the all-intra ones."""
    return [n for n in CODECS.names() if CODECS.get(n).inter == inter]


def one_frame(name: str, frames: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """The ``H x W x C`` image of one-frame input (an image codec takes frames, not planes)."""
    if not isinstance(frames, np.ndarray):
        raise ValueError(f"{name} takes 1 x H x W x C frames, not {len(frames)} planes; pass one image to encode_image")
    return frames[0]


def as_hwc(image: np.ndarray) -> np.ndarray:
    """Accept H x W or H x W x C and return H x W x C (no copy)."""
    if image.ndim == 2:
        return image[:, :, None]
    if image.ndim != 3:
        raise ValueError(f"expected an H x W or H x W x C image, got shape {image.shape}")
    return image


def check_bitdepth(image: np.ndarray, bitdepth: int) -> None:
    """Refuse a dtype / bit depth mismatch early, before a codec silently clips."""
    want = np.uint8 if bitdepth <= 8 else np.uint16
    if image.dtype != want:
        raise ValueError(f"a {bitdepth}-bit image must be {np.dtype(want).name}, got {image.dtype}")
    if bitdepth not in (8, 16) and image.size and int(image.max()) >= (1 << bitdepth):
        raise ValueError(f"values up to {int(image.max())} do not fit {bitdepth} bits")
