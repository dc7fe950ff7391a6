"""The codec a sandwich wraps: exactly its anchor's configuration, and the anchor's adaptation as its start.

"Same codec, same start": a sandwich with ``wraps: <codec method>`` codes its bottleneck with that
method's codec and options (JPEG with libjpeg's scaled Annex-K tables at quality q, JFIF YCbCr, its
chroma format, Huffman optimisation; or x265/x264 low-delay P at the method's QPs, its chroma format
and colour transform, for a video experiment), sweeps that method's own rate points, and builds on its
conventional adaptation (luma and replicate, bicubic ↓2 and Lanczos ↑2, 8 MSBs and mid-point,
identity)::

    B = Q( (a(S) + f(S)) / 2^k )          Ŝ = a⁻¹(B̂·2^k + 2^(k-1)) + g(B̂)

with ``a``/``a⁻¹`` the anchor's own numpy adaptation (:mod:`baselines.conventional`, the same code,
so the floats agree to the bit) and f, g residual nets. With f = g = 0 (``init: conventional``)
the sandwich *is* the anchor: same B, same bytes, same reconstruction. ``a⁻¹`` keeps the exact
forward value and takes its gradient from a torch twin (Lanczos3 ↑2 of :mod:`proxies.resample`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from baselines import resize
from bench.codecs import CODECS, Codec
from bench.codecs.jpeg import standard_tables
from bench.colour import BT601_LUMA_PRINTED
from bench.config import Adapt, CodecMethodConfig
from bench.scenarios import Bottleneck
from proxies.calibration import qp_to_step
from proxies.resample import lanczos3_up2

# The video codecs the video proxy models (I + motion-compensated P frames at one QP).
VIDEO_PROXY_CODECS = ("x265", "x264")

# What each scenario bottleneck's conventional adaptation is (channels, factor, shift -> adapt).
_ADAPTS = {
    "luma": "a 1-channel bottleneck",
    "half_bicubic": "a ½-resolution bottleneck",
    "half_lanczos": "a ½-resolution bottleneck",
    "msb8": "a 16-bit source over 8 bits",
    "none": "a plain one",
}


def expected_adapt(spec: Bottleneck, source_channels: int) -> tuple[str, ...]:
    """The anchor adaptations that produce this bottleneck from the source."""
    if spec.factor == 2:
        return ("half_bicubic", "half_lanczos")
    if spec.shift == 8:
        return ("msb8",)
    if spec.channels == 1 and source_channels == 3:
        return ("luma",)
    return ("none",)


@dataclass(frozen=True)
class WrappedCodec:
    """A codec method's configuration as a sandwich's real codec, proxy tables and starting path."""

    method: str
    codec_name: str
    options: dict[str, Any]
    adapt: Adapt
    rate_points: tuple[float, ...]

    @classmethod
    def of(cls, cfg: CodecMethodConfig, spec: Bottleneck, source_channels: int) -> WrappedCodec:
        want = expected_adapt(spec, source_channels)
        if cfg.adapt not in want:
            raise ValueError(
                f"wraps: {cfg.name!r} adapts the source with {cfg.adapt!r}, but this scenario's "
                f"bottleneck ({_ADAPTS[want[0]]}) starts from {' or '.join(want)}"
            )
        wrapped = cls(cfg.name, cfg.codec, dict(cfg.options), cfg.adapt, tuple(cfg.rate_points))
        channels = spec.channels or source_channels
        if cfg.codec in VIDEO_PROXY_CODECS:
            chroma = str(wrapped.codec().options().get("chroma"))
            if chroma != ("400" if channels == 1 else "444"):
                raise ValueError(
                    f"wraps: {cfg.name!r} codes chroma {chroma}; the video proxy models 4:4:4 and 4:0:0 "
                    f"streams, so a {channels}-channel bottleneck needs chroma {'400' if channels == 1 else '444'}"
                )
            return wrapped
        if cfg.codec != "jpeg":
            raise ValueError(
                f"wraps: {cfg.name!r} uses codec {cfg.codec!r}; the sandwich's proxies model JPEG (images) "
                f"and {', '.join(VIDEO_PROXY_CODECS)} (video), so wrap one of those"
            )
        mode = wrapped.codec().options()["mode"]
        if (mode == "gray") != (channels == 1) or mode == "planes":
            raise ValueError(
                f"wraps: {cfg.name!r} codes JPEG mode {mode!r}, which does not carry a "
                f"{channels}-channel bottleneck; use mode gray for 1 channel, rgb or raw for 3"
            )
        return wrapped

    @property
    def inter(self) -> bool:
        """A low-delay video codec (rate points are QPs), not an image codec (qualities)."""
        return self.codec_name in VIDEO_PROXY_CODECS

    def method_config(self) -> CodecMethodConfig:
        """The wrapped method as a plain codec method (what the untrained sandwich reproduces)."""
        return CodecMethodConfig(
            name=self.method,
            kind="codec",
            codec=self.codec_name,
            options=dict(self.options),
            adapt=self.adapt,
            rate_points=list(self.rate_points),
        )

    def codec(self) -> Codec:
        return CODECS.build(self.codec_name, **self.options)

    @property
    def colour(self) -> Literal["none", "ycbcr"]:
        """The proxy's colour mode: JFIF YCbCr when the codec converts (JPEG mode rgb; a 3-plane
        x265/x264 stream with colour ycbcr, their default)."""
        if self.inter:
            return "ycbcr" if self.codec().options().get("colour") == "ycbcr" else "none"
        return "ycbcr" if self.options.get("mode", "rgb") == "rgb" else "none"

    @property
    def subsampling(self) -> Literal["444", "420"]:
        mode = self.options.get("mode", "rgb")
        return "420" if mode in ("rgb", "raw") and str(self.options.get("chroma", "420")) == "420" else "444"

    def steps(self, rate_point: float, channels: int) -> Tensor:
        """The real codec's quantiser for ``rate_point`` as the proxy's step: for JPEG a ``C x 8 x 8``
        table, the scaled luma table for component 0, the chroma table for the others (flat tables:
        Δ everywhere); for x265/x264 HEVC's Qstep 2^((QP-4)/6) of the QP, one for every frame."""
        if self.inter:
            return torch.tensor(qp_to_step(rate_point))
        if self.options.get("tables", "standard") == "flat":
            return torch.tensor(float(np.clip(np.rint(rate_point), 1, 255)))
        tables = standard_tables(int(rate_point), colour=channels > 1)
        rows = [tables[0]] + [tables[-1]] * (channels - 1)
        return torch.tensor(rows, dtype=torch.float32).reshape(channels, 8, 8)

    # -- the anchor's adaptation, before its rounding ------------------------------------------
    def forward_float(self, source: np.ndarray) -> np.ndarray:
        """``a(S)`` for one H x W x C source, on the source scale, unrounded: what the anchor rounds."""
        if self.adapt == "luma":
            return (source[..., :3].astype(np.float64) @ BT601_LUMA_PRINTED)[..., None]
        if self.adapt.startswith("half_"):
            return resize.down_float(source, 2, "bicubic").astype(np.float64)
        return source.astype(np.float64)  # none; msb8 shifts by 2^k in the sandwich

    def forward_batch(self, s: Tensor) -> Tensor:
        """``a(S)`` for an ``N x C x H x W`` batch (no gradient: nothing before it is learnt)."""
        if self.adapt == "none" or self.adapt.startswith("msb"):
            return s.detach()
        arr = s.detach().permute(0, 2, 3, 1).cpu().numpy()
        out = np.stack([self.forward_float(a.astype(np.float32)) for a in arr])
        return torch.from_numpy(out).permute(0, 3, 1, 2).to(s)

    def inverse(self, x: Tensor, out_size: tuple[int, int], source_channels: int) -> Tensor:
        """``a⁻¹``: the anchor's reconstruction of ``N x C x h x w`` (already on the source scale),
        unrounded; exact forward values (Pillow) with the gradient of the torch twin."""
        if self.adapt == "luma":
            return x.expand(-1, source_channels, -1, -1)
        if not self.adapt.startswith("half_"):
            return x
        kernel = self.adapt.removeprefix("half_")
        twin = (
            lanczos3_up2(x)
            if kernel == "lanczos"
            else F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
        )
        twin = twin[..., : out_size[0], : out_size[1]]
        arr = x.detach().permute(0, 2, 3, 1).cpu().numpy().astype(np.float32)
        exact = np.stack([resize.up_float(a, 2, out_size, kernel) for a in arr])
        exact_t = torch.from_numpy(exact).permute(0, 3, 1, 2).to(twin)
        return twin + (exact_t - twin).detach()
