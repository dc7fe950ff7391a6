"""HEVC-like differentiable video proxy: low-delay P with motion compensation from source flow.

Guleryuz et al., arXiv:2402.05887, Fig. 6; METHOD §4.

::

    t = 0:  B̂(0) = ImageProxy_Δintra(B(0))                                             (I frame)
    t > 0:  MC    = warp(B̂(t-1), flow(t))          flow on the source, resized and rescaled
            DC    = nearest↑8(bicubic-AA↓8(ImageProxy_Δintra(B(t))))          intra predictor
            mask  = [SSE(MC, B(t)) <= SSE(DC, B(t))] per 8x8 block (hard, B(t) uncompressed)
            pred  = round_STE(mask·MC + (1 - mask)·DC)
            Ê     = ResidualProxy_Δinter(B(t) - pred + 128)             (no clip of E)
            B̂(t) = round_STE(clip(B̃ + LF(B̃))),   B̃ = Ê - 128 + pred      (P frame)
    R̂ = Σ_t bits(t):  I frame from the image proxy, P frames from the residual proxy

The flow does not depend on B, so the warp is a fixed linear map (a constant Jacobian); the real
codec does its own motion search at evaluation. Gradients reach B through both predictors and
the residual; the mode mask is hard. ``loop_filter`` is an optional frozen ``nn.Module`` run as
a residual correction (METHOD: pre-trained per rate point; no weights were released, so the
default is the identity). The calibrated rate of a P frame codes the residual clipped to
[0, 255] with the real codec, as the release does. Channels are coded independently (4:4:4;
one channel = 4:0:0); 4:2:0 bottlenecks are not supported here. ``colour="ycbcr"`` models a codec
fed RGB that converts it itself (JFIF BT.601 full range, rounded, 4:4:4): the frames are coded,
predicted and motion-compensated as Y, Cb, Cr planes, and the decoded planes converted back to RGB.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from proxies.colour import to_rgb, to_ycbcr
from proxies.dct import BLOCK, block_dct, block_idct, pad_symmetric
from proxies.flow import resize_flow, warp
from proxies.image_proxy import LEVEL_SHIFT, ImageProxy
from proxies.quantizers import QUANTIZERS, StepSize, quantize, ste_round
from proxies.rate import CodedPlanes, RateEstimate, RateModel, log_count, make_rate


class VideoProxyOutput(NamedTuple):
    """One pass over ``N`` clips of ``T`` frames."""

    recon: Tensor  # N x T x C x H x W decoded bottleneck, integer-valued float32
    rate_bits: Tensor  # N: Σ_t frame_bits (differentiable)
    frame_bits: Tensor  # N x T
    inter_fraction: Tensor  # N x T share of 8x8 blocks predicted by motion (0 for the I frame)
    step_intra: Tensor
    step_inter: Tensor
    real_bits: Tensor | None  # N x T real-codec bits (calibrated rate models only)


class ResidualProxy(nn.Module):
    """The image proxy's DCT + flat quantiser for prediction residuals, without clipping.

    The input is rounded (a codec's residual is integer) but not clipped: B - pred + 128 spans
    about -127..383 and clipping it would cap the correction the P frame can carry.
    """

    def __init__(
        self, step: float = 8.0, quantizer: str = "ste", rate: RateModel | str = "jpeg", learn_step: bool = True
    ) -> None:
        super().__init__()
        if quantizer not in QUANTIZERS:
            raise ValueError(f"unknown quantizer {quantizer!r}; choose from: {', '.join(QUANTIZERS)}")
        self.quantizer = quantizer
        self.rate = make_rate(rate) if isinstance(rate, str) else rate
        self.step_size = StepSize(step, trainable=learn_step)

    def forward(self, residual: Tensor, step: Tensor | None = None) -> tuple[Tensor, RateEstimate]:
        """Code ``N x C x H x W`` residual (level-shifted by 128); return Ê and its rate. ``step``
        overrides the learnt Δ (a codec's own quantiser step)."""
        x = ste_round(residual.float())
        delta = self.step_size() if step is None else step
        coeffs = block_dct(pad_symmetric(x, BLOCK) - LEVEL_SHIFT)
        y = coeffs / delta
        planes = [CodedPlanes(x, coeffs, ste_round(y))]
        recon = block_idct(quantize(y, self.quantizer, self.training) * delta) + LEVEL_SHIFT
        est = self.rate(planes, delta, log_count(planes))
        return recon[..., : x.shape[-2], : x.shape[-1]], est


def block_sse(a: Tensor, b: Tensor) -> Tensor:
    """Sum of squared differences over channels and each 8x8 block: ``N x 1 x ⌈H/8⌉ x ⌈W/8⌉``."""
    err = ((a - b) ** 2).sum(dim=1, keepdim=True)
    return F.avg_pool2d(pad_symmetric(err, BLOCK), BLOCK) * BLOCK**2


def block_expand(x: Tensor, size: Sequence[int]) -> Tensor:
    """Nearest ×8 of a per-block map, cropped to ``size``."""
    up = x.repeat_interleave(BLOCK, dim=-2).repeat_interleave(BLOCK, dim=-1)
    return up[..., : size[0], : size[1]]


def dc_predictor(coded: Tensor) -> Tensor:
    """Bicubic antialiased ↓8 then nearest ↑8: about the block's DC, as HEVC's DC intra mode."""
    h, w = coded.shape[-2:]
    padded = pad_symmetric(coded, BLOCK)
    small = F.interpolate(
        padded,
        size=(padded.shape[-2] // BLOCK, padded.shape[-1] // BLOCK),
        mode="bicubic",
        antialias=True,
        align_corners=False,
    )
    return block_expand(small, (h, w))


class VideoProxy(nn.Module):
    """Differentiable low-delay-P video codec stand-in for 4:4:4 / 4:0:0 bottlenecks.

    Args:
        intra_step, inter_step: initial Δ of the I frame (and intra predictor) and of the
            residuals (METHOD: max(√γ, 1) each).
        quantizer: see :mod:`proxies.quantizers`.
        rate: rate model or name for I frames and residuals (``"jpeg"``, ``"hevc"`` calibrated;
            ``"gaussian"``, ``"laplacian"`` free), see :mod:`proxies.rate`.
        learn_step: train both Δ.
        loop_filter: optional module mapping ``N x C x H x W`` to a correction; frozen here.
        colour: ``"none"`` (channels coded as given) or ``"ycbcr"`` (3 RGB channels through the
            codec's own JFIF transform).
    """

    def __init__(
        self,
        intra_step: float = 8.0,
        inter_step: float = 8.0,
        quantizer: str = "ste",
        rate: RateModel | str = "jpeg",
        learn_step: bool = True,
        loop_filter: nn.Module | None = None,
        colour: str = "none",
    ) -> None:
        super().__init__()
        if colour not in ("none", "ycbcr"):
            raise ValueError(f"unknown colour {colour!r}; choose from: none, ycbcr")
        self.colour = colour
        rate_model = make_rate(rate) if isinstance(rate, str) else rate
        self.intra = ImageProxy(intra_step, quantizer, "444", rate_model, learn_step)
        # codes B(t) for the DC predictor at the intra Δ; its rate is never charged, so a free model
        self.predictor = ImageProxy(intra_step, quantizer, "444", "gaussian", learn_step=False)
        self.residual = ResidualProxy(inter_step, quantizer, rate_model, learn_step)
        self.loop_filter = loop_filter.requires_grad_(False).eval() if loop_filter is not None else None

    def train(self, mode: bool = True) -> VideoProxy:
        super().train(mode)
        if self.loop_filter is not None:
            self.loop_filter.eval()  # frozen: no dropout / batch-norm updates while training
        return self

    def step_size(self) -> Tensor:
        """The residual (P-frame) Δ: all frames but the first are P frames, so the real codec's QP follows it."""
        return self.residual.step_size()

    def config(self) -> dict[str, str]:
        out = {
            "quantizer": self.intra.quantizer,
            "rate": self.intra.rate.name,
            "loop_filter": type(self.loop_filter).__name__ if self.loop_filter else "identity",
        }
        return out if self.colour == "none" else {**out, "colour": self.colour}

    def forward(self, bottleneck: Tensor, flow: Tensor, step: float | Tensor | None = None) -> VideoProxyOutput:
        """Code ``N x T x C x H x W`` (0..255) with source flows ``N x (T-1) x 2 x h x w``.

        The flows may be at any resolution: they are resized to H x W and their vectors scaled.
        ``step`` overrides both learnt Δ with one fixed step: the QP step of a real codec that codes
        I and P frames at one QP (x265/x264 with ipratio=1, as ``bench.codecs.low_delay`` runs them).
        """
        if bottleneck.ndim != 5:
            raise ValueError(f"expected N x T x C x H x W, got {tuple(bottleneck.shape)}")
        n, t, c, h, w = bottleneck.shape
        if self.colour == "ycbcr" and c != 3:
            raise ValueError(f"colour ycbcr needs 3 channels, got {c}; use colour none")
        if flow.ndim != 5 or flow.shape[:3] != (n, t - 1, 2):
            raise ValueError(f"expected flows shaped {(n, t - 1, 2)} x h x w for {t} frames, got {tuple(flow.shape)}")
        with torch.autocast(device_type=bottleneck.device.type, enabled=False):
            frames = ste_round(bottleneck.float().clamp(0, 255))
            if self.colour == "ycbcr":
                frames = ste_round(to_ycbcr(frames).clamp(0, 255))
            flow = resize_flow(flow.float(), (h, w))
            fixed = None if step is None else torch.as_tensor(step, dtype=torch.float32, device=frames.device)
            first = self.intra(frames[:, 0], step=fixed)
            recons, bits, real, inter = [first.recon], [first.rate_bits], [first.real_bits], []
            for k in range(1, t):
                rec, est, frac = self._p_frame(frames[:, k], recons[-1], flow[:, k - 1], fixed)
                recons.append(rec)
                bits.append(est.bits)
                real.append(est.real_bits)
                inter.append(frac)
            frame_bits = torch.stack(bits, dim=1)
            inter_fraction = torch.stack([torch.zeros_like(frame_bits[:, 0]), *inter], dim=1)
            real_bits = None if any(r is None for r in real) else torch.stack(real, dim=1)
            recon = torch.stack(recons, dim=1)
            if self.colour == "ycbcr":
                recon = ste_round(to_rgb(recon).clamp(0, 255))
        return VideoProxyOutput(
            recon,
            frame_bits.sum(dim=1),
            frame_bits,
            inter_fraction,
            self.intra.step_size() if fixed is None else fixed,
            self.residual.step_size() if fixed is None else fixed,
            real_bits,
        )

    def _p_frame(
        self, cur: Tensor, ref: Tensor, flow: Tensor, step: Tensor | None = None
    ) -> tuple[Tensor, RateEstimate, Tensor]:
        motion = warp(ref, flow)
        dc = dc_predictor(self.predictor(cur, step=self.intra.step_size() if step is None else step).recon)
        with torch.no_grad():
            use_motion = (block_sse(motion, cur) <= block_sse(dc, cur)).float()
        mask = block_expand(use_motion, cur.shape[-2:])
        pred = ste_round((mask * motion + (1 - mask) * dc).clamp(0, 255))
        coded, est = self.residual(cur - pred + LEVEL_SHIFT, step)
        recon = coded - LEVEL_SHIFT + pred
        if self.loop_filter is not None:
            recon = recon + self.loop_filter(recon)
        return ste_round(recon.clamp(0, 255)), est, use_motion.flatten(1).mean(dim=1)
