"""Plain real codec with the scenario's conventional adaptation (the paper's baselines).

``adapt: none`` hands the source to the codec as is (the codec's own RGB->YCbCr path for JPEG
``mode: rgb``). ``adapt: luma`` is the paper's 4:0:0 baseline for RGB sources: BT.601 luma (the
JPEG/JFIF full-range weights) is coded as a gray image and the reconstruction is that gray
replicated to three channels, so colour is lost by construction.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from bench.codecs import get_codec
from bench.config import CodecMethodConfig
from bench.method import ItemResult, Method

BT601_LUMA = np.array([0.299, 0.587, 0.114])


def rgb_to_luma(rgb: np.ndarray, bitdepth: int) -> np.ndarray:
    """Full-range BT.601 luma, rounded to the source's integer grid."""
    peak = (1 << bitdepth) - 1
    y = np.rint(rgb[..., :3].astype(np.float64) @ BT601_LUMA)
    return np.clip(y, 0, peak).astype(rgb.dtype)[..., None]


class ConventionalCodec(Method):
    def __init__(self, cfg: CodecMethodConfig) -> None:
        self.cfg = cfg
        self.name, self.role = cfg.name, cfg.role
        self.label = cfg.label or cfg.name
        self.codec = get_codec(cfg.codec, **cfg.options)

    def rate_points(self) -> list[float]:
        return list(self.cfg.rate_points)

    def run(self, source: np.ndarray, bitdepth: int, rate_point: float) -> ItemResult:
        if self.cfg.adapt == "luma":
            if source.shape[2] != 3:
                raise ValueError(f"method {self.name!r}: adapt 'luma' needs RGB sources, got {source.shape[2]} channels")
            coded = rgb_to_luma(source, bitdepth)
        else:
            coded = source
        res = self.codec.encode(coded, rate_point, bitdepth)
        decoded = res.decoded
        if self.cfg.adapt == "luma":
            decoded = np.repeat(decoded, 3, axis=2)
        return ItemResult(decoded, res.nbytes, res.encode_s, res.decode_s, res.command, dict(res.extra))

    def describe(self) -> dict[str, Any]:
        return {"kind": "codec", "adapt": self.cfg.adapt, **self.codec.describe()}
