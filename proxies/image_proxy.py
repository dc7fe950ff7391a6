"""JPEG-like differentiable image codec proxy.

Guleryuz et al., "Sandwiched Compression: Repurposing Standard Codecs with Neural Network
Wrappers", arXiv:2402.05887, Fig. 5 and eq. 39-40; METHOD.md §3.

::

    B (N x C x H x W, 0..255)
      -> clip [0,255] -> round_STE ─┬─ 4:4:4 / 4:0:0: every channel ──────────── pad8 ─┐
                                    └─ 4:2:0: ch 0 ───────────────────────────── pad8 ─┤
                                              ch 1-2: pad16 -> bilinear-AA ↓2 -> round ┤
      per plane:  X = DCT8x8(plane - 128)  ->  X̂ = Q(X/Δ)·Δ  ->  IDCT + 128 -> crop     │
                  q = round_STE(X/Δ) ─> rate model ─> R̂ (bits per image)  <────────────┘
      4:2:0 chroma: Lanczos3 ↑2 -> crop;  all: clip [0,255] -> round_STE -> B̂

One flat step Δ = ELU(θ, 0.01) + 1 for all frequencies and channels; each channel is coded on
its own (no colour transform), so 1, 3 or any N channels work. ``colour="ycbcr"`` models a JPEG in
its usual JFIF mode instead: 3 channels go to YCbCr (BT.601 full range, rounded) before the planes
are coded and back to RGB (rounded, clipped) after, as libjpeg does around its DCT. Everything runs in float32 with
autocast disabled: bf16 cannot hold the integers the rounding and the rate need.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch
from torch import Tensor, nn

from proxies.colour import to_rgb, to_ycbcr
from proxies.dct import block_dct, block_idct, pad_symmetric
from proxies.quantizers import QUANTIZERS, StepSize, quantize, ste_round
from proxies.rate import CodedPlanes, RateModel, log_count, make_rate, nonzeros, sum_tensors
from proxies.resample import downsample2, lanczos3_up2

LEVEL_SHIFT = 128.0


class ProxyOutput(NamedTuple):
    """What one proxy pass returns (per-image tensors have shape ``N``)."""

    recon: Tensor  # N x C x H x W decoded bottleneck, integer-valued, float32
    rate_bits: Tensor  # R̂ per image (differentiable)
    log_count: Tensor  # N = Σ ln(1 + |q|) per image (differentiable)
    nonzeros: Tensor  # nonzero quantised coefficients per image
    step: Tensor  # the Δ used (scalar)
    real_bits: Tensor | None  # calibrated models: the real codec's bits
    header_bits: Tensor | None  # calibrated models: the intercept b subtracted before fitting


class ImageProxy(nn.Module):
    """Differentiable stand-in for a flat-table JPEG coding each channel as a 4:0:0 image.

    Args:
        step: initial Δ (>= 1).
        quantizer: ``"ste"`` | ``"noise"`` | ``"soft"`` | ``"none"`` (bypass), see
            :mod:`proxies.quantizers`; noise/soft round hard in ``eval()`` mode.
        subsampling: ``"444"`` (every channel full resolution; 1 channel = 4:0:0) or ``"420"``
            (3 channels; 1-2 bilinear-antialiased ↓2 inside, Lanczos3 ↑2 after).
        rate: a rate model or its name: ``"jpeg"``/``"hevc"`` (calibrated to the real codec),
            ``"gaussian"``/``"laplacian"`` (calibration-free), see :mod:`proxies.rate`.
        learn_step: train θ (else Δ stays at ``step``).
        colour: ``"none"`` (every channel coded as given) or ``"ycbcr"`` (3 channels, JFIF).
        rate_gradient: ``"rounded"``: N = Σ ln(1 + |round(X/Δ)|) (STE), whose gradient is zero for
            every coefficient that rounds to 0; ``"unrounded"``: N = Σ ln(1 + |X/Δ|), so the rate also
            pulls on the small coefficients whose crossing to ±1 is what costs real bits. The
            calibration fits a on the same N, so R̂'s forward value is the real bits either way and
            the gradient's scale matches the count it differentiates.
    """

    def __init__(
        self,
        step: float = 8.0,
        quantizer: str = "ste",
        subsampling: Literal["444", "420"] = "444",
        rate: RateModel | str = "jpeg",
        learn_step: bool = True,
        colour: Literal["none", "ycbcr"] = "none",
        rate_gradient: Literal["rounded", "unrounded"] = "rounded",
    ) -> None:
        super().__init__()
        if rate_gradient not in ("rounded", "unrounded"):
            raise ValueError(f"unknown rate_gradient {rate_gradient!r}; choose from: rounded, unrounded")
        self.rate_gradient = rate_gradient
        if colour not in ("none", "ycbcr"):
            raise ValueError(f"unknown colour {colour!r}; choose from: none, ycbcr")
        self.colour = colour
        if quantizer not in QUANTIZERS:
            raise ValueError(f"unknown quantizer {quantizer!r}; choose from: {', '.join(QUANTIZERS)}")
        if subsampling not in ("444", "420"):
            raise ValueError(f"unknown subsampling {subsampling!r}; choose from: 444, 420")
        self.quantizer = quantizer
        self.subsampling = subsampling
        self.rate = make_rate(rate) if isinstance(rate, str) else rate
        self.step_size = StepSize(step, trainable=learn_step)

    def config(self) -> dict[str, str]:
        """The experiment knobs of this proxy, ready to log."""
        out = {"quantizer": self.quantizer, "subsampling": self.subsampling, "rate": self.rate.name}
        if self.rate_gradient != "rounded":
            out["rate_gradient"] = self.rate_gradient
        return out if self.colour == "none" else {**out, "colour": self.colour}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.config().items())

    def forward(self, bottleneck: Tensor, step: float | Tensor | None = None) -> ProxyOutput:
        """Code ``bottleneck`` (N x C x H x W, 0..255 scale); ``step`` overrides the learnt Δ: a
        scalar, or per channel a quantisation table (``C x 8 x 8``, [vertical, horizontal]
        frequency, the codec's own tables; C counts the planes as coded, e.g. Y, Cb, Cr)."""
        if bottleneck.ndim != 4:
            raise ValueError(f"expected an N x C x H x W bottleneck, got shape {tuple(bottleneck.shape)}")
        if self.subsampling == "420" and bottleneck.shape[1] != 3:
            raise ValueError(f"4:2:0 needs 3 channels, got {bottleneck.shape[1]}; use '444'")
        if self.colour == "ycbcr" and bottleneck.shape[1] != 3:
            raise ValueError(f"colour ycbcr needs 3 channels, got {bottleneck.shape[1]}; use colour none")
        with torch.autocast(device_type=bottleneck.device.type, enabled=False):
            x = ste_round(bottleneck.float().clamp(0, 255))
            if self.colour == "ycbcr":
                x = ste_round(to_ycbcr(x).clamp(0, 255))
            delta = self.step_size() if step is None else torch.as_tensor(step, dtype=torch.float32, device=x.device)
            if delta.ndim and tuple(delta.shape) != (x.shape[1], 8, 8):
                raise ValueError(
                    f"a per-frequency step must be C x 8 x 8 = {x.shape[1]} x 8 x 8, got {tuple(delta.shape)}"
                )
            groups, recons, deltas, c0 = [], [], [], 0
            for pixels, padded in self._planes(x):
                coeffs = block_dct(padded - LEVEL_SHIFT)
                cg = pixels.shape[1]
                d = delta[c0 : c0 + cg][None, :, None, None] if delta.ndim else delta  # 1 x Cg x 1 x 1 x 8 x 8
                deltas.append(d)
                c0 += cg
                y = coeffs / d
                groups.append(CodedPlanes(pixels, coeffs, ste_round(y)))
                dequant = quantize(y, self.quantizer, self.training) * d
                recon = block_idct(dequant) + LEVEL_SHIFT
                recons.append(recon[..., : pixels.shape[-2], : pixels.shape[-1]])
            recon = self._merge(recons, x.shape[-2:])
            if self.colour == "ycbcr":
                recon = ste_round(to_rgb(recon).clamp(0, 255))
            count = log_count(groups)
            if self.rate_gradient == "unrounded":  # the count the rate is calibrated on and differentiated
                count = sum_tensors(
                    torch.log1p((g.coeffs / dg).abs()).flatten(1).sum(1) for g, dg in zip(groups, deltas, strict=True)
                )
            est = self.rate(groups, delta, count)
        return ProxyOutput(recon, est.bits, count, nonzeros(groups), delta, est.real_bits, est.header_bits)

    def _planes(self, x: Tensor) -> list[tuple[Tensor, Tensor]]:
        """(codec input at its real size, padded to whole blocks) per resolution group."""
        if self.subsampling == "444":
            return [(x, pad_symmetric(x, 8))]
        h, w = x.shape[-2:]
        chroma = ste_round(downsample2(pad_symmetric(x[:, 1:], 16)).clamp(0, 255))
        luma = x[:, :1]
        return [(luma, pad_symmetric(luma, 8)), (chroma[..., : (h + 1) // 2, : (w + 1) // 2], chroma)]

    def _merge(self, recons: list[Tensor], size: torch.Size) -> Tensor:
        if self.subsampling == "420":
            recons = [recons[0], lanczos3_up2(recons[1])[..., : size[0], : size[1]]]
        return ste_round(torch.cat(recons, dim=1).clamp(0, 255))
