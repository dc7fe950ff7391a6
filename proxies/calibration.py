"""Real-codec rate targets for the calibrated rate proxy (METHOD §3, §10).

Each bottleneck channel is coded on its own as an 8-bit 4:0:0 image, exactly as the sandwich's
real codec path codes it, and the proxy's forward rate is fitted to those bits:

- ``jpeg`` (default): Pillow/libjpeg-turbo gray JPEG, flat table rint(Δ) clipped to [1, 255],
  ``optimize=True`` (``bench.codecs.jpeg.encode_gray_flat``); never ``quality=`` with ``qtables=``.
- ``hevc``: x265 HEVC-intra 4:0:0 (``CODECS.build("hevc", chroma="400", colour="raw")``). HEVC's
  quantiser step is Qstep = 2^((QP-4)/6) in the units of an orthonormal transform on 8-bit
  samples (QP 4 ⇔ step 1, +6 QP doubles it), so Δ ↦ QP = clip(round(4 + 6·log2 Δ), 0, 51):
  Δ = 2, 4, 8, 16, 32 ⇔ QP 10, 16, 22, 28, 34. HEVC adds intra prediction, RDOQ, variable
  transform sizes and in-loop filters, so its reconstruction is *not* the proxy's; use it as a
  rate target when the sandwich will be evaluated with HEVC.

Encodes of a batch run on a shared thread pool: Pillow releases the GIL while encoding and
x265 runs in a subprocess, so threads give real parallelism without pickling planes.
"""

from __future__ import annotations

import functools
import io
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image

HEADER_FILL = 128  # a constant plane at the DCT level shift: every coefficient is 0, N = 0


@dataclass(frozen=True)
class Coded:
    """One real encode of one plane: its bits, the real decoder's output, the encoder's seconds."""

    bits: int
    decoded: np.ndarray
    seconds: float


Step = float | tuple[int, ...]  # a flat step Δ, or a 64-entry quantisation table (natural order)


class RateTarget(Protocol):
    """A real codec coding one uint8 H x W plane at a proxy step Δ (or table)."""

    name: str

    def param(self, step: Step) -> float | tuple[int, ...]:
        """The codec parameter that Δ maps to (table entry, QP, the table itself)."""

    def bits(self, plane: np.ndarray, step: Step) -> int:
        """Real bitstream size in bits (headers included)."""

    def code(self, plane: np.ndarray, step: Step) -> Coded:
        """Encode and decode with the real codec (for fidelity measurements)."""


def step_to_qp(step: float) -> int:
    """HEVC QP whose step 2^((QP-4)/6) is nearest to Δ in log scale, clipped to [0, 51]."""
    return int(np.clip(round(4 + 6 * math.log2(max(step, 1e-6))), 0, 51))


def qp_to_step(qp: float) -> float:
    """HEVC quantiser step of a QP (8-bit, orthonormal-transform units)."""
    return 2.0 ** ((qp - 4) / 6)


class JpegTarget:
    """Gray JPEG through ``bench.codecs.jpeg`` (``optimize=True``): a flat table rint(Δ), or, when
    the step is a 64-entry table (a standard-table JPEG's luma or chroma table), that table."""

    name = "jpeg"

    def __init__(self) -> None:
        from bench.codecs.jpeg import encode_gray_table, flat_table  # bench only when calibrating

        self._encode, self._table = encode_gray_table, flat_table

    def _entries(self, step: Step) -> list[int]:
        return list(step) if isinstance(step, tuple) else self._table(step)

    def param(self, step: Step) -> float | tuple[int, ...]:
        return step if isinstance(step, tuple) else self._table(step)[0]

    def bits(self, plane: np.ndarray, step: Step) -> int:
        return 8 * len(self._encode(plane, self._entries(step), optimize=True))

    def code(self, plane: np.ndarray, step: Step) -> Coded:
        t0 = time.perf_counter()
        data = self._encode(plane, self._entries(step), optimize=True)
        seconds = time.perf_counter() - t0
        decoded = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
        return Coded(8 * len(data), decoded, seconds)


class HevcTarget:
    """x265 HEVC-intra 4:0:0 at QP = step_to_qp(Δ) through the ``hevc`` codec of the registry."""

    name = "hevc"

    def __init__(self) -> None:
        from bench.codecs import CODECS

        self.codec = CODECS.build("hevc", chroma="400", colour="raw")

    def param(self, step: Step) -> float:
        if isinstance(step, tuple):
            raise ValueError("the hevc rate target takes a flat step, not a quantisation table; use rate: jpeg")
        return step_to_qp(step)

    def bits(self, plane: np.ndarray, step: float) -> int:
        return self.code(plane, step).bits

    def code(self, plane: np.ndarray, step: float) -> Coded:
        res = self.codec.encode_image(plane, step_to_qp(step), bitdepth=8)
        return Coded(8 * len(res.bitstream), res.decoded[:, :, 0], res.encode_s)


TARGETS: dict[str, type] = {"jpeg": JpegTarget, "hevc": HevcTarget}


@functools.cache
def make_target(name: str) -> RateTarget:
    """The shared instance of rate target ``name`` (``jpeg`` or ``hevc``)."""
    if name not in TARGETS:
        raise ValueError(f"unknown rate target {name!r}; choose from: {', '.join(TARGETS)}")
    return TARGETS[name]()


@functools.cache
def shared_pool(workers: int) -> ThreadPoolExecutor:
    """One long-lived pool per size, so a training step does not spawn threads."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rate-target")


def default_workers() -> int:
    """Encoder threads: one per core, capped so a big machine does not spawn dozens."""
    return max(1, min(8, os.cpu_count() or 1))


def real_bits(
    target: RateTarget, planes: list[np.ndarray], steps: Step | list[Step], workers: int | None = None
) -> list[int]:
    """Real bits of every plane at Δ (one step, or one per plane), encoded concurrently (order preserved)."""
    workers = workers or default_workers()
    per_plane = steps if isinstance(steps, list) else [steps] * len(planes)
    if workers == 1 or len(planes) == 1:
        return [target.bits(p, st) for p, st in zip(planes, per_plane, strict=False)]
    return list(shared_pool(workers).map(target.bits, planes, per_plane))


_CONSTANT_BITS: dict[tuple[object, int, int, object], int] = {}


def constant_bits(target: RateTarget, height: int, width: int, step: Step) -> int:
    """Bits of a constant plane (N = 0): headers + per-block floor, the intercept of R(N).

    Cached per target, size and codec parameter (training crops share one size).
    """
    key = (target, height, width, target.param(step))
    if key not in _CONSTANT_BITS:
        plane = np.full((height, width), HEADER_FILL, dtype=np.uint8)
        _CONSTANT_BITS[key] = target.bits(plane, step)
    return _CONSTANT_BITS[key]
