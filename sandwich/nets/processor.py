"""The sandwich's pre-processor f and post-processor g: a sin-MLP plus an α-scaled U-Net.

Guleryuz et al., arXiv:2402.05887; the official release's ``run_preprocessor`` /
``run_postprocessor`` (``compress_intra_model.py``); METHOD.md §2 [R], §10::

    x ─ (x-m)/s ─ [up2: Lanczos3 ↑2] ─┬─ MLP: (1x1 conv, sin) × depth, 1x1 conv ─┬─ + ─ y
                                      └─ UNet ─────────────────────────── × α ─┘
    y ─ [down2: bicubic-AA ↓2] ─ s·y + m ─> out

f resamples after the branch sum (``resample="down2"``), g before the branches
(``resample="up2"``), both with :mod:`proxies.resample`. Both resamplers are affine with unit
DC gain, so resampling x̃ or x, y or s·y + m is the same.

Gradient flow at α0 = 0: out = s·(MLP + α·UNet) + m, so ∂L/∂α = s·⟨∂L/∂out, UNet(x̃)⟩, which is
nonzero because the U-Net's head keeps PyTorch's random init, while ∂L/∂θ_UNet = α·s·(…) is
exactly zero on the first step. The first optimiser step moves α off zero and from then on
the U-Net trains ("MLP-only start, U-Net fades in"). Zero-initialising the head as well would
make both gradients zero forever (METHOD §2 [3P]), so nothing here does that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from proxies.resample import downsample2, lanczos3_up2
from sandwich.nets.unet import DEFAULT_DECODER, DEFAULT_ENCODER, Down, Pad, UNet, check_choice

Resample = Literal["none", "down2", "up2"]


class Sin(nn.Module):
    """The MLP's hidden activation (sin, as in the release and METHOD §2)."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.sin(x)


def _zero(conv: nn.Conv2d) -> None:
    """Weights and bias of ``conv`` to zero, in place."""
    conv.weight.zero_()
    if conv.bias is not None:
        conv.bias.zero_()


def sin_mlp(in_ch: int, out_ch: int, hidden: int = 16, depth: int = 1) -> nn.Sequential:
    """``depth`` hidden 1x1 conv + sin layers of width ``hidden``, then a linear 1x1 conv.

    The release has one hidden layer (its ``num_mlp_layers=2``), the paper text says "two
    layers with 16"; depth 0 is a plain linear colour map.
    """
    if depth < 0:
        raise ValueError(f"MLP depth must be >= 0, got {depth}")
    layers: list[nn.Module] = []
    c = in_ch
    for _ in range(depth):
        layers += [nn.Conv2d(c, hidden, 1), Sin()]
        c = hidden
    layers.append(nn.Conv2d(c, out_ch, 1))
    return nn.Sequential(*layers)


class Processor(nn.Module):
    """x -> s·(MLP(x̃) + α·UNet(x̃)) + m with x̃ = (x - m)/s, optionally resampled ×2.

    Args:
        in_ch, out_ch: channel counts (any: 3→1 for gray 4:0:0, 1→3 for its post, 3→N ...).
        encoder, decoder: U-Net widths (Table II); both ``None`` gives an MLP-only processor
            (``self.unet`` and ``self.alpha`` are then ``None``).
        mlp_hidden, mlp_depth: width and number of hidden sin layers of the MLP.
        alpha0: initial α. The release starts at 0 (U-Net fades in); on short CPU budgets
            α0 = 1 ended 0.25-0.35 dB ahead (METHOD §10). α is named ``alpha`` so a trainer
            can give it its own learning rate.
        m, s: pixel offset and scale; images 128·2^k and 255·2^k (k truncated bits), video
            round(s/2) and 2^bitdepth - 1.
        resample: ``"none"``; ``"down2"`` (pre, HR over LR: bicubic antialiased ↓2 after the
            branch sum; odd sides are first replicate-padded to even, so 67x93 -> 34x47);
            ``"up2"`` (post: Lanczos3 ↑2 before the branches, 34x47 -> 68x94; pass
            ``out_size`` to crop back to the source size).
        autocast_bf16: run the U-Net under bf16 autocast, channels-last (on this CPU's AMX a
            lowres training step took 0.24 s instead of 0.33 s channels-first and 0.55 s in
            float32). The MLP, which carries the image itself, normalisation, resampling, the α
            sum and the output scaling stay in float32: bf16 keeps 8 significant bits, about one
            grey level on the MLP's output (METHOD §10).
        down, pad: U-Net options, see :class:`~sandwich.nets.unet.UNet`.
        residual: output r·y without the offset m: a correction added to a conventional path
            (a sandwich wrapping its anchor's codec, :mod:`sandwich.wrapped`).
        residual_scale: r, the residual's output unit on the pixel scale (default s). Adam moves
            the output by about lr·r per step, so a correction of a fraction of a grey level needs
            r of a few grey levels (measured on hdr: at r = s a dequantiser never left zero).
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        encoder: Sequence[int] | None = DEFAULT_ENCODER,
        decoder: Sequence[int] | None = DEFAULT_DECODER,
        *,
        mlp_hidden: int = 16,
        mlp_depth: int = 1,
        alpha0: float = 0.0,
        m: float = 128.0,
        s: float = 255.0,
        resample: Resample = "none",
        autocast_bf16: bool = False,
        down: Down = "decimate",
        pad: Pad = "replicate",
        residual: bool = False,
        residual_scale: float | None = None,
    ) -> None:
        super().__init__()
        check_choice("resample", resample, ("none", "down2", "up2"))
        if (encoder is None) != (decoder is None):
            raise ValueError(
                "give both encoder and decoder widths, or neither for an MLP-only "
                f"processor; got encoder={encoder}, decoder={decoder}"
            )
        if s <= 0:
            raise ValueError(f"scale s must be positive, got {s}")
        self.in_ch, self.out_ch = in_ch, out_ch
        self.m, self.s = float(m), float(s)
        self.r = float(residual_scale) if residual_scale is not None else self.s
        if self.r <= 0:
            raise ValueError(f"residual_scale must be positive, got {residual_scale}")
        self.resample, self.autocast_bf16, self.residual = resample, autocast_bf16, residual
        self.mlp = sin_mlp(in_ch, out_ch, mlp_hidden, mlp_depth)
        self.unet: UNet | None = None
        if encoder is None or decoder is None:  # both or neither (checked above)
            self.register_parameter("alpha", None)
        else:
            self.unet = UNet(in_ch, out_ch, encoder, decoder, down=down, pad=pad)
            self.alpha = nn.Parameter(torch.tensor(float(alpha0)))

    @torch.no_grad()
    def start_as(self, matrix: Tensor, gain: float = 0.05) -> None:
        """Make the MLP branch ≈ the linear map ``matrix`` (out_ch x in_ch) on the normalised pixels.

        The first ``in_ch`` hidden units carry x̃ through sin(gain·x̃) ≈ gain·x̃ (|x̃| <= 1/2, so the
        cubic error is below 1e-4 of full scale) and the output layer undoes the gain; the other hidden
        units keep their random input weights with zero output weights, so they join as training goes.
        The U-Net's last conv starts at zero: its branch adds nothing yet, but (unlike alpha = 0) its
        weights get gradients from the first step.
        """
        first, last = self.mlp[0], self.mlp[-1]
        assert isinstance(first, nn.Conv2d) and isinstance(last, nn.Conv2d)  # sin_mlp's first and last layers
        if len(self.mlp) != 3 or first.out_channels < self.in_ch:
            raise ValueError("a conventional start needs one hidden sin layer at least as wide as the input")
        if tuple(matrix.shape) != (self.out_ch, self.in_ch):
            raise ValueError(f"expected a {self.out_ch}x{self.in_ch} matrix, got {tuple(matrix.shape)}")
        if self.unet is not None:  # the U-Net joins from zero with its gradient path open (alpha stays)
            _zero(self.unet.head)
        assert first.bias is not None  # sin_mlp's convs all have a bias
        first.weight[: self.in_ch].zero_()
        first.weight[: self.in_ch, :, 0, 0] = gain * torch.eye(self.in_ch)
        first.bias[: self.in_ch].zero_()
        _zero(last)
        last.weight[:, : self.in_ch, 0, 0] = matrix.to(last.weight.dtype) / gain

    @torch.no_grad()
    def start_at_zero(self) -> None:
        """Output exactly 0 (a residual that starts as "no change"): the MLP's and the U-Net's last
        layers at zero. Both still get gradients on the first step (their inputs are nonzero)."""
        last = self.mlp[-1]
        assert isinstance(last, nn.Conv2d)  # sin_mlp ends in a linear 1x1 conv
        _zero(last)
        if self.unet is not None:
            _zero(self.unet.head)

    def forward(self, x: Tensor, out_size: tuple[int, int] | None = None) -> Tensor:
        """``N x in_ch x H x W`` on the pixel scale -> ``N x out_ch x H' x W'``, cropped to
        ``out_size`` when given (g with ``up2`` after an odd-sized source)."""
        xt = (x - self.m) / self.s
        if self.resample == "up2":
            xt = lanczos3_up2(xt)
        y = self.mlp(xt)
        if self.unet is not None:
            with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.autocast_bf16):
                y_unet = self.unet(xt.contiguous(memory_format=torch.channels_last))
            y = y + self.alpha * y_unet.to(xt.dtype)
        if self.resample == "down2":
            h, w = y.shape[-2:]
            if h % 2 or w % 2:
                y = F.pad(y, (0, w % 2, 0, h % 2), mode="replicate")
            y = downsample2(y, "bicubic")
        out = self.r * y if self.residual else self.s * y + self.m
        if out_size is not None:
            if out_size[0] > out.shape[-2] or out_size[1] > out.shape[-1]:
                raise ValueError(f"cannot crop a {tuple(out.shape[-2:])} output to {out_size}")
            out = out[..., : out_size[0], : out_size[1]]
        return out

    def extra_repr(self) -> str:
        return (
            f"in_ch={self.in_ch}, out_ch={self.out_ch}, m={self.m:g}, s={self.s:g}, "
            f"resample={self.resample}, autocast_bf16={self.autocast_bf16}, residual={self.residual}"
        )
