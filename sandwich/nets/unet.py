"""The U-Net branch of the sandwich processors, laid out to reproduce the paper's Table II.

Guleryuz et al., arXiv:2402.05887, Table II; METHOD.md §2 "U-Net layout reproducing Table II
exactly" [D]. ``UNet(C_in, C_out, [e1..en], [d0..dn])``::

    x ─ e1 ──────────────────────────────────────────── cat ─ d_n ─ head ─> C_out
        ↓2                                               ↑2
        e2 ─────────────────────────────── cat ─ d_{n-1}
        ↓2                                  ↑2
        ...   e_n ─ ↓2 ─ d0 (scale 2^-n) ─ ↑2 ─ cat ─ d1 ...

    e_i, d_i: block = 2 × (3x3 conv 'same' (zero padding), bias, ReLU); head: 3x3 conv, linear;
    ↓2: decimation (default) or 2x2 average; ↑2: bilinear (half-pixel centres).

Params = Σ(9·c_in·c_out + c_out); MACs per input pixel = Σ(9·c_in·c_out + c_out)·4^-level.
The official release's U-Net drops the deepest encoder block and does not match Table II
(5,782,595 params for the default instead of 7,847,491).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

DEFAULT_ENCODER: tuple[int, ...] = (32, 64, 128, 256)
DEFAULT_DECODER: tuple[int, ...] = (512, 256, 128, 64, 32)
SLIM_ENCODER: tuple[int, ...] = (32,)
SLIM_DECODER: tuple[int, ...] = (32, 32)

Down = Literal["decimate", "avgpool"]
Pad = Literal["replicate", "reflect"]


def _block(c_in: int, c_out: int) -> nn.Sequential:
    """Two 3x3 'same' convolutions with bias, each followed by ReLU (Table II's block)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU()
    )


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """Refuse an unknown option by listing the valid ones."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose from: {', '.join(choices)}")


class UNet(nn.Module):
    """Encoder/decoder U-Net with skips; any input size, output the input's size.

    Args:
        in_ch, out_ch: channel counts of input and output.
        encoder: widths e1..en (n >= 1).
        decoder: widths d0..dn (exactly n + 1 of them); d0 runs at scale 2^-n.
        down: ``"decimate"`` keeps samples ``[..., ::2, ::2]`` (no parameters, no MACs; the
            release decimates too, at the other phase ``[1::2, 1::2]`` — either phase is half a
            pixel off the bilinear ↑2 grid); ``"avgpool"`` averages 2x2 cells instead, which
            does not alias but is not what Table II's FPS were measured with.
        pad: inputs are padded at the bottom/right to a multiple of 2^n with ``"replicate"``
            (works for any size) or ``"reflect"`` (needs the pad to be smaller than the
            input side), and the output is cropped back; zero padding would put an edge into
            every border block.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        encoder: Sequence[int],
        decoder: Sequence[int],
        down: Down = "decimate",
        pad: Pad = "replicate",
    ) -> None:
        super().__init__()
        if not encoder or len(decoder) != len(encoder) + 1:
            raise ValueError(
                f"a U-Net with encoder {list(encoder)} needs {len(encoder) + 1} "
                f"decoder widths d0..d{len(encoder)}, got {list(decoder)}"
            )
        check_choice("down", down, ("decimate", "avgpool"))
        check_choice("pad", pad, ("replicate", "reflect"))
        self.encoder_widths, self.decoder_widths = tuple(encoder), tuple(decoder)
        self.down, self.pad = down, pad
        self.encoder = nn.ModuleList()
        c = in_ch
        for width in encoder:
            self.encoder.append(_block(c, width))
            c = width
        self.decoder = nn.ModuleList([_block(c, decoder[0])])
        c = decoder[0]
        for width, skip in zip(decoder[1:], reversed(encoder), strict=True):
            self.decoder.append(_block(c + skip, width))
            c = width
        self.head = nn.Conv2d(c, out_ch, 3, padding=1)

    def _down2(self, x: Tensor) -> Tensor:
        return x[..., ::2, ::2] if self.down == "decimate" else F.avg_pool2d(x, 2)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        multiple = 2 ** len(self.encoder)
        pad_h, pad_w = -h % multiple, -w % multiple
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode=self.pad)
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
            x = self._down2(x)
        x = self.decoder[0](x)
        for block, skip in zip(self.decoder[1:], reversed(skips), strict=True):
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)[..., :h, :w]

    def extra_repr(self) -> str:
        return (
            f"encoder={list(self.encoder_widths)}, decoder={list(self.decoder_widths)}, "
            f"down={self.down}, pad={self.pad}"
        )
