"""Scenarios: what a source is, how it is measured, and what bottleneck the sandwich must fit.

A scenario turns a loaded file into the array every method receives and fixes its bit depth, so
all methods in an experiment see exactly the same pixels. Sandwich scenarios also fix the
bottleneck (channels, chroma format, resolution, 8-bit container) and the real codec mode that
carries it, with no colour transform except where the codec's own JFIF YCbCr is named (perceptual;
METHOD §1, §6).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from bench.errors import DataError
from bench.registry import Registry

# How float (linear-light) HDR files become 16-bit sources; logged with every HDR run.
HDR_TRANSFER = (
    "per image: divide by the 99.9th percentile of all channels, clip to [0, 1], apply gamma 1/2.4, round to 16 bits"
)


@dataclass(frozen=True)
class Bottleneck:
    """The neural code image B: what the standard codec carries (METHOD §1).

    ``factor`` > 1: B is at 1/factor resolution (HR over LR). ``shift`` = k truncated bits for
    sources deeper than 8 bit (B = floor(f(S) / 2^k)). ``codec_options`` is the real codec's
    mode for evaluation: flat step tables, and no colour transform unless ``colour`` is
    ``"ycbcr"`` (the codec's JFIF transform, modelled by the proxy too).
    """

    channels: int | None  # None: as many as the source has
    subsampling: Literal["444", "420"] = "444"
    factor: int = 1
    shift: int = 0
    codec: str = "jpeg"
    codec_options: dict[str, Any] = field(default_factory=dict)
    colour: Literal["none", "ycbcr"] = (
        "none"  # "ycbcr": the codec's own JFIF colour transform sits between B and its planes
    )


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    channels: int | None  # source channels (None: any)
    bitdepth: int
    default_metrics: tuple[str, ...]
    to_source: Callable[[np.ndarray, str], np.ndarray]
    bottleneck: Bottleneck | None = None
    transfer: str | None = None


SCENARIOS: Registry[Scenario] = Registry("scenario")


def _rgb8(img: np.ndarray, name: str) -> np.ndarray:
    if img.dtype != np.uint8:
        raise DataError(
            f"item {name!r}: this scenario needs 8-bit images, got {img.dtype}; "
            "use the 'hdr' scenario for deeper sources"
        )
    if img.shape[2] < 3:
        raise DataError(f"item {name!r} is grayscale; this scenario needs RGB images")
    return np.ascontiguousarray(img[:, :, :3])


def _any8(img: np.ndarray, name: str) -> np.ndarray:
    if img.dtype != np.uint8:
        raise DataError(f"item {name!r}: the multichannel scenario needs 8-bit channels, got {img.dtype}")
    return img


def hdr_to_16bit(img: np.ndarray) -> np.ndarray:
    """Float linear HDR -> 16-bit display-referred RGB (see HDR_TRANSFER)."""
    x = np.nan_to_num(img.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0).clip(min=0)
    ref = float(np.percentile(x, 99.9))
    x = np.clip(x / ref if ref > 0 else x, 0.0, 1.0) ** (1 / 2.4)
    return np.rint(x * 65535).astype(np.uint16)


def _hdr16(img: np.ndarray, name: str) -> np.ndarray:
    if img.shape[2] == 1 and img.dtype == np.uint16:  # a deep gray source: coded as RGB with equal channels
        img = np.repeat(img, 3, axis=2)
    if img.shape[2] < 3:
        raise DataError(f"item {name!r} has {img.shape[2]} channel(s); the hdr scenario needs RGB or 16-bit gray")
    img = img[:, :, :3]
    if img.dtype == np.uint16:
        return np.ascontiguousarray(img)
    if img.dtype == np.float32:
        return hdr_to_16bit(img)
    raise DataError(f"item {name!r} is {img.dtype}; the hdr scenario needs 16-bit or float (EXR/HDR) images")


def _jpeg(mode: str, **extra: Any) -> dict[str, Any]:
    return {"mode": mode, "tables": "flat", **extra}


_RGB_METRICS = ("psnr-rgb", "psnr-y", "ms-ssim-rgb")

for _s in (
    Scenario("rgb", "8-bit RGB photographs through a plain codec (no sandwich bottleneck)", 3, 8, _RGB_METRICS, _rgb8),
    Scenario(
        "rgb444",
        "RGB through a 3-channel 4:4:4 codec, no colour transform",
        3,
        8,
        _RGB_METRICS,
        _rgb8,
        Bottleneck(3, "444", codec_options=_jpeg("raw", chroma="444")),
    ),
    Scenario(
        "rgb420",
        "RGB through a 3-channel 4:2:0 codec (1 full + 2 half-res channels)",
        3,
        8,
        _RGB_METRICS,
        _rgb8,
        Bottleneck(3, "420", codec_options=_jpeg("raw", chroma="420")),
    ),
    Scenario(
        "gray400",
        "RGB through a 1-channel (4:0:0) codec: colour over a grayscale codec",
        3,
        8,
        _RGB_METRICS,
        _rgb8,
        Bottleneck(1, "444", codec_options=_jpeg("gray")),
    ),
    Scenario(
        "lowres",
        "RGB through a 4:4:4 codec at half resolution (HR over LR)",
        3,
        8,
        _RGB_METRICS,
        _rgb8,
        Bottleneck(3, "444", factor=2, codec_options=_jpeg("raw", chroma="444")),
    ),
    Scenario(
        "hdr",
        "10-16-bit RGB (or gray) through an 8-bit 4:4:4 codec; PSNR at each source's true depth",
        3,
        16,
        ("psnr-rgb", "ms-ssim-rgb"),
        _hdr16,
        Bottleneck(3, "444", shift=8, codec_options=_jpeg("raw", chroma="444")),
        transfer=HDR_TRANSFER,
    ),
    Scenario(
        "perceptual",
        "RGB through a 4:4:4 JPEG (its own YCbCr, flat tables), trained for LPIPS (+ MSE anchor)",
        3,
        8,
        ("psnr-rgb", "ms-ssim-rgb", "lpips-alex", "lpips-vgg"),
        _rgb8,
        Bottleneck(3, "444", codec_options=_jpeg("rgb", chroma="444"), colour="ycbcr"),
    ),
    Scenario(
        "multichannel",
        "N-channel 8-bit maps through N single-channel codecs",
        None,
        8,
        ("psnr-rgb",),
        _any8,
        Bottleneck(None, "444", codec_options=_jpeg("planes")),
    ),
):
    SCENARIOS.register(_s.name)(_s)


def msb_saturation_db(bitdepth: int, coded_bits: int = 8) -> float:
    """PSNR of perfect ``coded_bits`` MSBs with mid-point LSBs over uniformly spread low bits: the
    ceiling of a shallow codec carrying a deeper source. The k dropped bits take 2^k values around
    a mid-point 2^(k-1) that sits ½ above their mean, so MSE = (4^k - 1)/12 + 1/4 (METHOD §6):
    16 over 8 bits 58.96 dB, 12 bits 58.92 dB, 10 bits 58.43 dB."""
    k = bitdepth - coded_bits
    mse = ((1 << k) ** 2 - 1) / 12 + 0.25
    return 10 * math.log10(((1 << bitdepth) - 1) ** 2 / mse)


def reference_lines(
    scenario: Scenario, metrics: list[str], depths: tuple[int, ...] = ()
) -> dict[str, list[dict[str, Any]]]:
    """Horizontal lines every RD plot of the scenario should show: the 8-bit saturation for HDR, at
    each true source depth present (10, 12, 16 bits: 59.19, 58.98, 58.96 dB)."""
    if scenario.bitdepth <= 8 or scenario.bottleneck is None:
        return {}
    lines = []
    for depth in sorted(set(depths) | {scenario.bitdepth}):
        sat = msb_saturation_db(depth, 8)
        lines.append(
            {
                "value": sat,
                "label": f"8-bit saturation at {depth} bits ({sat:.2f} dB: perfect 8 MSBs, mid-point LSBs)",
                "bitdepth": depth,
            }
        )
    return {m: lines for m in metrics if m.startswith("psnr")}
