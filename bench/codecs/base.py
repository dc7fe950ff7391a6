"""The one codec interface: array in, real bitstream + decoded array + timings + provenance out.

Images are numpy arrays ``H x W x C`` (C >= 1), dtype uint8 for 8-bit and uint16 for 9-16 bit
content (values in ``[0, 2**bitdepth - 1]``). ``bpp`` is always ``8 * len(bitstream) / (H * W)``
on the pixels handed in, so padding a codec needs never changes the rate denominator.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from bench.registry import Registry


@dataclass(frozen=True)
class EncodeResult:
    """What one real encode/decode produced. ``bitstream`` is what the rate is counted from."""

    bitstream: bytes
    decoded: np.ndarray
    encode_s: float
    decode_s: float
    command: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return len(self.bitstream)

    def bpp(self) -> float:
        h, w = self.decoded.shape[:2]
        return 8.0 * self.nbytes / (h * w)


class Codec(ABC):
    """A real codec at a fixed configuration; ``encode`` takes the rate parameter.

    Subclasses set ``name`` (the registry key), ``param_name`` (``quality``, ``qp``, ``step``)
    and ``higher_param_is_better`` (True for quality, False for QP/step), and accept their
    options as keyword arguments so a YAML ``options:`` mapping can be passed straight in.
    The last two may be set per instance when an option changes the parameter (JPEG with flat
    tables takes a step, not a quality).
    """

    name: ClassVar[str]
    param_name: str
    higher_param_is_better: bool

    @abstractmethod
    def encode(self, image: np.ndarray, param: float, bitdepth: int = 8) -> EncodeResult:
        """Encode ``image`` (H x W x C) at ``param`` and decode it again with the real decoder."""

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
        return {"codec": self.name, "param": self.param_name, "version": self.version(),
                **self.options()}


CODECS: Registry[type[Codec]] = Registry("codec")


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
