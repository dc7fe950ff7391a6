"""12-bit JPEG (extended sequential, SOF1) through imagecodecs' libjpeg-turbo, registered ``jpeg12``.

For 9-12 bit content (uint16, values < 2**bitdepth); samples are coded as they are, so 10-bit
content uses a quarter of the 12-bit range (shift it left first to use all of it). 1 channel is
coded 4:0:0, 3 channels go through libjpeg's RGB -> YCbCr. The tables are libjpeg's scaled
Annex-K tables for ``quality``, applied to 12-bit samples (so a given quality quantises 16x finer
relative to the signal range than 8-bit JPEG does). libjpeg-turbo always builds optimized Huffman
tables at 12-bit precision (its default Huffman tables are 8-bit ones), so there is no
``optimize`` option.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import imagecodecs
import numpy as np

from bench.codecs.base import CODECS, Codec, EncodeResult, as_hwc, check_bitdepth, one_frame
from bench.errors import CodecError

CHROMA = ("444", "420")
_SOF_MARKERS = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # DHT, JPG, DAC share the range


def sof_precision(data: bytes) -> int:
    """Sample precision (bits) of the first SOF segment of a JPEG bitstream."""
    pos = 2  # after SOI
    while pos + 4 < len(data) and data[pos] == 0xFF:
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in _SOF_MARKERS:
            return data[pos + 4]
        pos += 2 + length
    raise ValueError("no SOF segment found in the JPEG bitstream")


@CODECS.register("jpeg12")
class Jpeg12Codec(Codec):
    """libjpeg-turbo 12-bit JPEG; param = quality 1..100."""

    name = "jpeg12"
    inter = False
    param_name = "quality"
    higher_param_is_better = True

    def __init__(self, chroma: str = "420") -> None:
        chroma = str(chroma) if isinstance(chroma, int) else chroma  # YAML reads 420 as a number
        if chroma not in CHROMA:
            raise ValueError(f"jpeg12 option 'chroma' must be one of {CHROMA}, got {chroma!r}")
        self.chroma = chroma

    def options(self) -> dict[str, Any]:
        return {"chroma": self.chroma}

    def check_param(self, param: float) -> None:
        if not float(param).is_integer() or not 1 <= param <= 100:
            raise ValueError(f"jpeg12 quality must be an integer in 1..100, got {param:.12g}")

    def version(self) -> str:
        return f"{imagecodecs.jpeg8_version()} (imagecodecs {imagecodecs.__version__})"

    def _encode(
        self, frames: np.ndarray | Sequence[np.ndarray], param: float, bitdepth: int, fps: Fraction | float
    ) -> EncodeResult[np.ndarray]:
        img = one_frame(self.name, frames)
        if bitdepth > 12:
            raise ValueError(
                f"jpeg12 codes at most 12 bits, got bitdepth {bitdepth}; shift the "
                f"image right by {bitdepth - 12} bits first (image >> {bitdepth - 12})"
            )
        if bitdepth <= 8:
            raise ValueError(
                f"jpeg12 takes 9-12 bit uint16 content, got bitdepth {bitdepth}; use codec 'jpeg' for 8-bit images"
            )
        check_bitdepth(img, bitdepth)
        if img.shape[2] not in (1, 3):
            raise ValueError(f"jpeg12 takes 1 or 3 channels, got {img.shape[2]}")
        self.check_param(param)
        quality = int(param)
        data_in = np.ascontiguousarray(img[:, :, 0] if img.shape[2] == 1 else img)
        kw: dict[str, Any] = {} if img.shape[2] == 1 else {"subsampling": self.chroma}
        t0 = time.perf_counter()
        data = bytes(imagecodecs.jpeg8_encode(data_in, quality, bitspersample=12, **kw))
        t1 = time.perf_counter()
        decoded = imagecodecs.jpeg8_decode(data)
        t2 = time.perf_counter()
        precision = sof_precision(data)
        if precision != 12 or decoded.dtype != np.uint16:
            raise CodecError(
                self.name, quality, f"expected a 12-bit JPEG, got {precision}-bit samples decoded as {decoded.dtype}"
            )
        decoded = np.minimum(as_hwc(decoded), (1 << bitdepth) - 1).astype(np.uint16)
        args = ", ".join([f"level={quality}", "bitspersample=12", *(f"{k}={v!r}" for k, v in kw.items())])
        return EncodeResult(
            data,
            decoded[None],
            t1 - t0,
            t2 - t1,
            f"imagecodecs.jpeg8_encode(<uint16 {data_in.shape}>, {args})",
            (1, img.shape[0], img.shape[1]),
        )
