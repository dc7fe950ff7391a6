"""Plain real codec with the scenario's conventional adaptation (the paper's baselines).

- ``none``: the source goes to the codec as is (for JPEG ``mode: rgb`` that is the codec's own
  RGB->YCbCr path).
- ``luma``: the paper's 4:0:0 baseline for RGB: BT.601 luma (JFIF full-range weights) is coded as
  a gray image; the reconstruction is that gray replicated to three channels (no colour).
- ``half_bicubic`` / ``half_lanczos``: HR over LR the conventional way: bicubic antialiased ↓2,
  the codec, then bicubic or Lanczos3 ↑2 (METHOD §2; Pillow filters, see ``baselines.resize``).
- ``msb8`` / ``msb10`` / ``msb12``: an 8- (10-, 12-) bit codec carrying a deeper source (8-bit JPEG,
  10-bit HEVC, 12-bit JPEG): the most significant bits are coded and the dropped k bits are
  reconstructed at their mid-point. For 16-bit sources msb8 saturates at ≈ 58.96 dB PSNR even at
  lossless 8-bit coding (METHOD §6). x265's QP is on the 8-bit scale, so its QP 0 is not lossless at
  10 bits: msb10 through HEVC stays near 57.5 dB on noisy content.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines import resize
from bench.codecs import CODECS
from bench.colour import BT601_LUMA_PRINTED
from bench.config import CodecMethodConfig
from bench.method import FrameMethod, ItemResult, class_modules

MSB_BITS = {"msb8": 8, "msb10": 10, "msb12": 12}


def rgb_to_luma(rgb: np.ndarray, bitdepth: int) -> np.ndarray:
    """Full-range BT.601 luma, rounded to the source's integer grid."""
    peak = (1 << bitdepth) - 1
    y = np.rint(rgb[..., :3].astype(np.float64) @ BT601_LUMA_PRINTED)
    return np.clip(y, 0, peak).astype(rgb.dtype)[..., None]


def msb_down(source: np.ndarray, bitdepth: int, bits: int) -> np.ndarray:
    """The ``bits`` most significant bits of a ``bitdepth``-bit source."""
    return (source >> (bitdepth - bits)).astype(np.uint8 if bits == 8 else np.uint16)


def msb_up(decoded: np.ndarray, bitdepth: int, bits: int) -> np.ndarray:
    """Back to ``bitdepth`` bits with the dropped bits at their mid-point."""
    k = bitdepth - bits
    return (decoded.astype(np.uint16) << k) + (1 << (k - 1))


class ConventionalCodec(FrameMethod):
    def __init__(self, cfg: CodecMethodConfig) -> None:
        self.cfg = cfg
        self.name, self.role = cfg.name, cfg.role
        self.label = cfg.label or cfg.name
        self.codec = CODECS.build(cfg.codec, **cfg.options)

    def rate_points(self) -> list[float]:
        return list(self.cfg.rate_points)

    def run_frame(self, source: np.ndarray, bitdepth: int, rate_point: float) -> ItemResult:
        adapt, h, w = self.cfg.adapt, source.shape[0], source.shape[1]
        coded_depth = bitdepth
        if adapt == "luma":
            if source.shape[2] != 3:
                raise ValueError(
                    f"method {self.name!r}: adapt 'luma' needs RGB sources, got {source.shape[2]} channels"
                )
            coded = rgb_to_luma(source, bitdepth)
        elif adapt.startswith("half_"):
            coded = resize.down(source, 2, "bicubic")
        elif adapt in MSB_BITS:
            coded_depth = MSB_BITS[adapt]
            if bitdepth <= coded_depth:
                raise ValueError(f"method {self.name!r}: adapt {adapt!r} needs a source deeper than {coded_depth} bits")
            coded = msb_down(source, bitdepth, coded_depth)
        else:
            coded = source
        res = self.codec.encode_image(coded, rate_point, coded_depth)
        decoded = res.decoded
        if adapt == "luma":
            decoded = np.repeat(decoded, 3, axis=2)
        elif adapt.startswith("half_"):
            decoded = resize.up(decoded, 2, (h, w), adapt.removeprefix("half_"))
        elif adapt in MSB_BITS:
            decoded = msb_up(decoded, bitdepth, coded_depth)
        return ItemResult(decoded, res.nbytes, res.encode_s, res.decode_s, res.command, dict(res.extra))

    def describe(self) -> dict[str, Any]:
        return {"kind": "codec", "adapt": self.cfg.adapt, **self.codec.describe()}

    def code_modules(self) -> tuple[str, ...]:
        return (*class_modules(self), "baselines.resize", "bench.colour", *class_modules(self.codec))
