"""The sandwich: pre-processor f, a codec (proxy in training, the real one at evaluation), post g.

Guleryuz et al., arXiv 2402.05887, Fig. 1 and §III; METHOD §1-3.

::

    S (C_src, d bits) --f--> B (C_b, 1/factor res) --floor_STE(/2^k)--> codec --> B̂
    B̂ --(·2^k + 2^(k-1))--> g --> Ŝ (C_src, source grid)

Training uses :class:`~proxies.image_proxy.ImageProxy`; evaluation calls the registry codec on the
rounded 8-bit bottleneck with the codec mode the scenario fixes (flat step tables, no colour
transform), so the reported rate is real bitstream bytes. ``pre_only`` drops g (a standard
decoder is all the receiver needs); ``post_only`` drops f (the paper's ablation: the codec sees
the conventional adaptation of S, g learns to restore it).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from bench.codecs import CODECS, Codec, EncodeResult
from bench.colour import BT601_LUMA_PRINTED
from bench.config import NetConfig, SandwichMethodConfig
from bench.scenarios import Bottleneck, Scenario
from proxies.colour import to_rgb, to_ycbcr
from proxies.image_proxy import ImageProxy, ProxyOutput
from sandwich.nets.processor import Processor, Resample
from sandwich.wrapped import WrappedCodec

if TYPE_CHECKING:
    from proxies.video_proxy import VideoProxy


# Training clips go through the real video codec at a nominal rate: bits per pixel do not depend on it.
TRAINING_FPS = Fraction(25)


class SandwichOutput(NamedTuple):
    recon: Tensor  # Ŝ on the source scale (float)
    bottleneck: Tensor  # B on the 0..255 scale, before the codec
    proxy: ProxyOutput


@contextmanager
def seeded_init(seed: int) -> Iterator[None]:
    """Build nets under ``torch.manual_seed(seed)`` and leave the global RNG as it was.

    torch seeds its default generator randomly in every process, so without this two runs of one
    config started from different weights (and trained to different results)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def floor_ste(x: Tensor) -> Tensor:
    """floor with an identity gradient (METHOD §2, HDR)."""
    return x + (torch.floor(x) - x).detach()


def conventional_map(in_ch: int, out_ch: int) -> Tensor:
    """The usual channel map: identity, BT.601 luma (3 -> 1), gray replicated (1 -> N), else the mean."""
    if in_ch == out_ch:
        return torch.eye(in_ch)
    if out_ch == 1:
        if in_ch == 3:
            return torch.tensor(BT601_LUMA_PRINTED[None], dtype=torch.float32)
        return torch.full((1, in_ch), 1.0 / in_ch)
    if in_ch == 1:
        return torch.ones(out_ch, 1)
    return torch.full((out_ch, in_ch), 1.0 / in_ch)


def _processor(
    cfg: NetConfig, in_ch: int, out_ch: int, k: int, resample: Resample, bf16: bool, residual: bool = False
) -> Processor:
    p = Processor(
        in_ch,
        out_ch,
        cfg.encoder if cfg.unet else None,
        cfg.decoder if cfg.unet else None,
        mlp_hidden=cfg.hidden,
        mlp_depth=cfg.mlp_layers,
        alpha0=cfg.alpha0,
        m=128.0 * 2**k,
        s=255.0 * 2**k,
        resample=resample,
        autocast_bf16=bf16,
        residual=residual,
        residual_scale=None if cfg.residual_scale is None else cfg.residual_scale * 2**k,
    )
    if cfg.init == "conventional":
        if residual:
            p.start_at_zero()
        else:
            p.start_as(conventional_map(in_ch, out_ch))
    return p


def bottleneck_of(scenario: Scenario) -> Bottleneck:
    """The scenario's bottleneck; a scenario without one cannot hold a sandwich."""
    if scenario.bottleneck is None:
        raise ValueError(
            f"scenario {scenario.name!r} has no sandwich bottleneck; choose one of the sandwich scenarios (bench list)"
        )
    return scenario.bottleneck


def image_sandwich(
    scenario: Scenario,
    cfg: SandwichMethodConfig,
    source_channels: int,
    step: float,
    wrapped: WrappedCodec | None = None,
) -> Sandwich:
    """A sandwich around :class:`~proxies.image_proxy.ImageProxy`: a flat Δ to learn, or the wrapped
    codec's quantiser (tables per rate point), chroma format and colour transform."""
    spec = bottleneck_of(scenario)
    if wrapped is None:
        proxy = ImageProxy(
            step=step,
            quantizer=cfg.proxy.quantizer,
            subsampling=spec.subsampling,
            rate=cfg.proxy.rate,
            learn_step=cfg.proxy.learn_step,
            colour=spec.colour,
            rate_gradient=cfg.proxy.rate_gradient,
        )
    else:
        proxy = ImageProxy(
            step=1.0,
            quantizer=cfg.proxy.quantizer,
            subsampling=wrapped.subsampling,
            rate=cfg.proxy.rate,
            learn_step=False,
            colour=wrapped.colour,
            rate_gradient=cfg.proxy.rate_gradient,
        )
    return Sandwich(scenario, cfg, source_channels, proxy, wrapped)


class Sandwich(nn.Module):
    """f + an injected codec proxy + g for one scenario; ``role`` selects the full sandwich or an ablation.

    The proxy is the one part that differs between images (:func:`image_sandwich`) and video
    (``sandwich.video_model.video_sandwich``); f and g, the conventional adaptations and the real-codec
    halves are the same code for both."""

    def __init__(
        self,
        scenario: Scenario,
        cfg: SandwichMethodConfig,
        source_channels: int,
        proxy: ImageProxy | VideoProxy,
        wrapped: WrappedCodec | None = None,
    ) -> None:
        super().__init__()
        self.wrapped = wrapped
        self.spec = spec = bottleneck_of(scenario)
        self.role = cfg.role
        self.k = spec.shift
        self.bitdepth = scenario.bitdepth
        c_b = spec.channels or source_channels
        if cfg.role == "post_only" and c_b != source_channels and spec.channels != 1:
            raise ValueError("post_only needs a bottleneck with the source's channels or a gray one")
        if spec.factor not in (1, 2):
            raise ValueError(f"bottleneck factor {spec.factor} is not supported (1 or 2)")
        down: Resample = "down2" if spec.factor == 2 else "none"
        up: Resample = "up2" if spec.factor == 2 else "none"
        bf16, res = cfg.train.bf16, wrapped is not None
        # A wrapping sandwich serves every rate point of its codec with one f and one g, so both see
        # the rate point as one more input plane (the codec's own parameter, scaled to [-1/2, 1/2]).
        self.conditioned = wrapped is not None and len(wrapped.rate_points) > 1
        extra = int(self.conditioned)
        self.pre = (
            None
            if cfg.role == "post_only"
            else _processor(cfg.pre, source_channels + extra, c_b, self.k, down, bf16, res)
        )
        self.post = (
            None
            if cfg.role == "pre_only"
            else _processor(cfg.post, c_b + extra, source_channels, self.k, up, bf16, res)
        )
        self.proxy = proxy  # registered after f and g: their parameters come first in the state dict
        self.rate_point = wrapped.rate_points[len(wrapped.rate_points) // 2] if wrapped else None
        self.source_channels, self.bottleneck_channels = source_channels, c_b

    # -- the two halves, shared by training and real-codec evaluation -------------------------
    def encode_side(self, s: Tensor) -> Tensor:
        """S (source scale) -> B on the 0..255 scale (not yet clipped / rounded)."""
        if self.wrapped is not None:  # the anchor's adaptation plus f's correction
            b = self.wrapped.forward_batch(s)
            if self.pre is not None:
                b = b + self.pre(self._with_rate_point(s, self.pre))
        elif self.pre is not None:
            b = self.pre(s)
        else:
            b = self._conventional(s)
        return floor_ste(b / 2**self.k) if self.k else b

    def decode_side(
        self, b_hat: Tensor, out_size: tuple[int, int], frozen_post: bool = False, use_post: bool = True
    ) -> Tensor:
        """B̂ (0..255 integers) -> Ŝ on the source scale, cropped to ``out_size``; ``frozen_post``
        runs g with its weights detached (gradients reach B̂, not g); ``use_post=False`` (a wrapping
        sandwich) gives the wrapped codec's own reconstruction, as when a post flag switches g off."""
        x = b_hat * 2**self.k + 2 ** (self.k - 1) if self.k else b_hat
        if self.wrapped is not None:  # the anchor's reconstruction plus g's correction
            base = self.wrapped.inverse(x, out_size, self.source_channels)
            if self.post is None or not use_post:
                return base
            xc = self._with_rate_point(x, self.post)
            if frozen_post:
                params = {n: p.detach() for n, p in self.post.named_parameters()}
                return base + torch.func.functional_call(self.post, params, (xc,), {"out_size": out_size})
            return base + self.post(xc, out_size=out_size)
        if self.post is not None:
            return self.post(x, out_size=out_size)
        return self._conventional_inverse(x, out_size)

    def _with_rate_point(self, x: Tensor, net: Processor) -> Tensor:
        """``x`` plus a constant plane that tells a conditioned net the current rate point: after
        the net's own normalisation it reads (p - lo) / (hi - lo) - 1/2 over the wrapped points."""
        if not self.conditioned or self.rate_point is None:
            return x
        assert self.wrapped is not None  # conditioned implies wrapped
        lo, hi = min(self.wrapped.rate_points), max(self.wrapped.rate_points)
        level = (float(self.rate_point) - lo) / (hi - lo) - 0.5
        plane = x.new_full((x.shape[0], 1, *x.shape[-2:]), net.m + net.s * level)
        return torch.cat([x, plane], dim=1)

    def codec_steps(self, rate_point: float | None = None) -> Tensor | None:
        """The proxy's quantiser for a rate point of the wrapped codec (None: the learnt Δ)."""
        if self.wrapped is None:
            return None
        point = self.rate_point if rate_point is None else rate_point
        if point is None:
            raise ValueError("a wrapping sandwich needs a rate point to code at")
        return self.wrapped.steps(point, self.bottleneck_channels)

    def _conventional(self, s: Tensor) -> Tensor:
        """Post-only: the codec sees the usual adaptation of S (luma / YCbCr for 4:2:0 / ↓2)."""
        import torch.nn.functional as F

        x = s
        if self.bottleneck_channels == 1 and s.shape[1] == 3:
            x = (s * s.new_tensor(BT601_LUMA_PRINTED)[None, :, None, None]).sum(1, keepdim=True)
        elif self.spec.subsampling == "420":  # the codec's own YCbCr 4:2:0 path (JFIF full range)
            x = to_ycbcr(x)
        if self.spec.factor == 2:
            h, w = x.shape[-2:]
            x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
            x = F.interpolate(x, scale_factor=0.5, mode="bicubic", antialias=True, align_corners=False)
        return x

    def _conventional_inverse(self, x: Tensor, out_size: tuple[int, int]) -> Tensor:
        """Pre-only: a standard decoder's output (↑2, YCbCr -> RGB for 4:2:0, gray replicated)."""
        from proxies.resample import lanczos3_up2

        if self.spec.factor == 2:
            x = lanczos3_up2(x)
        if self.spec.subsampling == "420":
            x = to_rgb(x)
        if x.shape[1] == 1 and self.source_channels == 3:
            x = x.expand(-1, 3, -1, -1)
        return x[..., : out_size[0], : out_size[1]]

    def forward(self, s: Tensor, *context: Tensor) -> SandwichOutput:
        """``N x C x H x W`` images (the proxy gets the codec's quantiser), or ``N x T x C x H x W`` clips:
        f and g code each frame, the proxy gets the whole clip and ``context`` (its source flow)."""
        b = self._encode(s)
        out = self._proxy(b, context)
        return SandwichOutput(self._decode(out.recon, s), b, out)

    def _encode(self, s: Tensor) -> Tensor:
        """B of images, or of every frame of ``N x T`` clips (f runs per frame)."""
        if s.ndim == 4:
            return self.encode_side(s)
        return self.encode_side(s.flatten(0, 1)).unflatten(0, s.shape[:2])

    def _proxy(self, b: Tensor, context: tuple[Tensor, ...]) -> Any:
        """The proxy's output (``ProxyOutput`` or ``VideoProxyOutput``): images at the codec's quantiser,
        clips with their context (source flow) at a wrapped video codec's QP step or the proxy's own Δ."""
        if b.ndim == 4:
            return self.proxy(b, self.codec_steps())
        steps = self.codec_steps()  # a wrapped video codec's QP step, else the proxy's own Δ
        return self.proxy(b, *context) if steps is None else self.proxy(b, *context, step=steps)

    def _decode(self, b_hat: Tensor, s: Tensor, frozen_post: bool = False) -> Tensor:
        """Ŝ of decoded images or clips, on ``s``'s grid (g runs per frame)."""
        size = (int(s.shape[-2]), int(s.shape[-1]))
        if b_hat.ndim == 4:
            return self.decode_side(b_hat, size, frozen_post)
        return self.decode_side(b_hat.flatten(0, 1), size, frozen_post).unflatten(0, b_hat.shape[:2])

    def forward_real(
        self, s: Tensor, *context: Tensor, straight_through: bool = False
    ) -> tuple[SandwichOutput, Tensor | None]:
        """The real codec in the loop: every crop (or clip) is coded by the real codec at the current rate point.

        Returns (output whose Ŝ is g of the *real* decoded B̂, Ŝ through the proxy or None).
        Default: g trains on the real B̂ only (detached: the codec is not differentiable) while f
        learns through the proxy pass, with g frozen there so g never fits the proxy's artefacts.
        With the real B̂ in f's forward, a straight-through gradient teaches f to pre-add the
        negative of the codec's own quantisation error, which the real quantiser does not reward
        (its gradient cosine with the real codec's is negative: ``bench proxy gradients``).
        ``straight_through``: f gets the real B̂ passed straight through the proxy instead."""
        b = self._encode(s)
        out = self._proxy(b, context)
        real = torch.from_numpy(self._real_decoded(b)).to(out.recon)
        if straight_through or self.pre is None:
            b_hat = out.recon + (real - out.recon).detach()
            return SandwichOutput(self._decode(b_hat, s), b, out._replace(recon=b_hat)), None
        via_proxy = self._decode(out.recon, s, frozen_post=True)
        return SandwichOutput(self._decode(real, s), b, out._replace(recon=real)), via_proxy

    def _real_decoded(self, b: Tensor) -> np.ndarray:
        """The real codec's decoded B̂ of a batch of bottleneck images or clips, as float32 in B's layout:
        each image through the image codec, each clip through one low-delay stream."""
        codec, param = self.real_codec(), self.eval_param()
        planes = b.detach().round().clamp(0, 255).movedim(-3, -1).to(torch.uint8).cpu().numpy()
        if b.ndim == 4:
            decoded = np.stack([codec.encode_image(img, param, 8).decoded for img in planes])
        else:
            decoded = np.stack([codec.encode(clip, param, 8, TRAINING_FPS).decoded for clip in planes])
        return np.moveaxis(decoded.astype(np.float32), -1, -3)

    # -- evaluation through the real codec -----------------------------------------------------
    def trained_step(self) -> float:
        """The learnt flat Δ; a wrapping sandwich's current rate point (the codec's own parameter)."""
        if self.rate_point is not None:
            return float(self.rate_point)
        return float(self.proxy.step_size().detach())

    def eval_param(self) -> float:
        """The real codec's parameter for the current training point (quality, or the rounded Δ)."""
        return float(self.rate_point) if self.rate_point is not None else float(quantise_step(self.trained_step()))

    @torch.inference_mode()
    def bottleneck_image(self, source: np.ndarray, device: str = "cpu") -> np.ndarray:
        """The 8-bit neural code image B for one H x W x C source (what the real codec gets)."""
        s = torch.from_numpy(source.astype(np.float32)).permute(2, 0, 1)[None].to(device)
        b = self.encode_side(s)
        return b.round().clamp(0, 255)[0].permute(1, 2, 0).to(torch.uint8).cpu().numpy()

    @torch.inference_mode()
    def reconstruct(
        self, decoded_b: np.ndarray, out_size: tuple[int, int], device: str = "cpu", use_post: bool = True
    ) -> np.ndarray:
        """Ŝ from the real decoder's B̂, rounded to the source's integer grid."""
        x = torch.from_numpy(decoded_b.astype(np.float32)).permute(2, 0, 1)[None].to(device)
        y = self.decode_side(x, out_size, use_post=use_post)[0].permute(1, 2, 0).cpu().numpy()
        peak = (1 << self.bitdepth) - 1
        return np.clip(np.rint(y), 0, peak).astype(np.uint8 if self.bitdepth <= 8 else np.uint16)

    def real_codec(self) -> Codec:
        if self.wrapped is not None:
            return self.wrapped.codec()
        return CODECS.build(self.spec.codec, **self.spec.codec_options)

    def code_real(
        self, source: np.ndarray, step: float, device: str = "cpu"
    ) -> tuple[np.ndarray, EncodeResult[np.ndarray], np.ndarray]:
        """(Ŝ, the real codec's result, B) for one source at the real codec parameter ``step``."""
        if self.wrapped is not None:
            self.rate_point = step
        b = self.bottleneck_image(source, device)
        res = self.real_codec().encode_image(b, step, 8)
        return self.reconstruct(res.decoded, source.shape[:2], device), res, b


def initial_step(gamma: float, configured: float | None) -> float:
    """METHOD §10: Δ barely moves on CPU budgets, so Δ0 ≈ 1.5·√γ sets the rate point."""
    return configured if configured is not None else max(1.0, 1.5 * math.sqrt(gamma))


def quantise_step(step: float) -> int:
    """What the real codec can use: rint(Δ) clipped to [1, 255] (the JPEG table range)."""
    return int(np.clip(np.rint(step), 1, 255))
