"""A video clip as its stored planes plus everything needed to read them right.

Planes are kept exactly as stored (``T x h x w`` each, uint8 or uint16), so writing a clip back
gives the same bytes; colour conversions happen only on request and name matrix and range.
``colour_source`` says where matrix and range came from (a header, or an assumption), so a
result can record it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np

from bench.codecs import planes as pl
from bench.colour import check_colour, luma_to_gray, rgb_to_ycbcr, ycbcr_to_rgb
from bench.errors import DataError

CHROMAS = ("400", "420", "444")


def plane_shapes(height: int, width: int, chroma: str) -> list[tuple[int, int]]:
    """(rows, cols) of each plane; 4:2:0 chroma of odd sizes rounds up, as y4m and ffmpeg do."""
    if chroma == "400":
        return [(height, width)]
    ch, cw = ((height + 1) // 2, (width + 1) // 2) if chroma == "420" else (height, width)
    return [(height, width), (ch, cw), (ch, cw)]


def pix_fmt(chroma: str, bitdepth: int) -> str:
    """ffmpeg's name for these planes: ``gray``, ``yuv420p10le`` ..."""
    base = "gray" if chroma == "400" else f"yuv{chroma}p"
    return base if bitdepth == 8 else f"{base}{bitdepth}le"


@dataclass(frozen=True)
class Clip:
    """Planar frames: ``planes[c]`` is ``T x h x w``; ``chroma`` is 400, 420 or 444."""

    planes: tuple[np.ndarray, ...]
    chroma: str
    bitdepth: int
    fps: Fraction
    matrix: str = "bt601"
    range: str = "limited"
    colour_source: str = "assumed"
    y4m_tokens: tuple[str, ...] = field(default=(), repr=False)  # header layout, for rewrites

    def __post_init__(self) -> None:
        if self.chroma not in CHROMAS:
            raise DataError(f"unsupported chroma {self.chroma!r}; choose from: {', '.join(CHROMAS)}")
        check_colour(self.matrix, self.range)
        if not 8 <= self.bitdepth <= 16:
            raise DataError(f"bit depth must be 8..16, got {self.bitdepth}")
        dtype = np.uint8 if self.bitdepth == 8 else np.uint16
        first = self.planes[0] if self.planes else np.empty(0)
        if first.ndim != 3 or not first.shape[0]:
            raise DataError(f"a clip needs T x h x w planes with T >= 1, got {first.shape}")
        n, h, w = first.shape
        want = [(n, *s) for s in plane_shapes(h, w, self.chroma)]
        got = [p.shape for p in self.planes]
        if got != want or any(p.dtype != dtype for p in self.planes):
            raise DataError(
                f"{self.chroma} {self.bitdepth}-bit planes must be {np.dtype(dtype).name} "
                f"shaped {want}, got {[f'{p.dtype}{p.shape}' for p in self.planes]}"
            )
        if self.bitdepth not in (8, 16) and max(int(p.max()) for p in self.planes) >> self.bitdepth:
            raise DataError(f"sample values exceed {self.bitdepth} bits; wrong bit depth or byte order?")
        if self.fps <= 0:
            raise DataError(f"fps must be positive, got {self.fps}")

    @property
    def n_frames(self) -> int:
        return self.planes[0].shape[0]

    @property
    def height(self) -> int:
        return self.planes[0].shape[1]

    @property
    def width(self) -> int:
        return self.planes[0].shape[2]

    @property
    def pix_fmt(self) -> str:
        return pix_fmt(self.chroma, self.bitdepth)

    def describe(self) -> dict[str, Any]:
        """What a result records about its input video."""
        return {
            "size": f"{self.width}x{self.height}",
            "frames": self.n_frames,
            "fps": str(self.fps),
            "pix_fmt": self.pix_fmt,
            "matrix": self.matrix,
            "range": self.range,
            "colour_source": self.colour_source,
        }

    def take(self, n: int, start: int = 0) -> Clip:
        """Frames ``start .. start+n-1``."""
        if not 0 <= start < start + n <= self.n_frames:
            raise DataError(f"frames {start}..{start + n - 1} are outside this clip's {self.n_frames} frames")
        return replace(self, planes=tuple(p[start : start + n] for p in self.planes))

    def crop(self, top: int, left: int, height: int, width: int) -> Clip:
        """A spatial window; 4:2:0 needs even offsets and sizes so chroma stays aligned."""
        if self.chroma == "420" and (top % 2 or left % 2 or height % 2 or width % 2):
            raise DataError(f"a 4:2:0 crop needs even offsets and sizes, got {height}x{width} at ({top}, {left})")
        if not (
            top >= 0
            and left >= 0
            and height > 0
            and width > 0
            and top + height <= self.height
            and left + width <= self.width
        ):
            raise DataError(f"crop {height}x{width} at ({top}, {left}) is outside the {self.height}x{self.width} clip")
        s = 2 if self.chroma == "420" else 1
        cuts = [(top, left, height, width)] + [(top // s, left // s, height // s, width // s)] * (len(self.planes) - 1)
        return replace(
            self, planes=tuple(p[:, t : t + h, x : x + w] for p, (t, x, h, w) in zip(self.planes, cuts, strict=True))
        )

    def to_rgb(self) -> np.ndarray:
        """``T x H x W x 3`` RGB (``x 1`` gray for 4:0:0), full range, rounded to the bit depth.

        4:2:0 chroma is upsampled with ``planes.up2`` (triangle filter, centred siting).
        """
        if self.chroma == "400":
            gray = luma_to_gray(self.planes[0], self.range, self.bitdepth)
            return pl.quantise(gray, self.bitdepth)[..., None]
        chroma = list(self.planes[1:])
        if self.chroma == "420":
            chroma = [pl.up2(p)[:, : self.height, : self.width] for p in chroma]
        ycc = np.stack([self.planes[0], *chroma], axis=-1)
        return pl.quantise(ycbcr_to_rgb(ycc, self.matrix, self.range, self.bitdepth), self.bitdepth)


def clip_from_rgb(
    rgb: np.ndarray,
    *,
    fps: Fraction | float,
    chroma: str = "444",
    matrix: str = "bt601",
    range_: str = "limited",
    bitdepth: int | None = None,
    source: str = "RGB frames",
) -> Clip:
    """Convert ``T x H x W x 3`` RGB (or ``x 1`` gray) frames to a YCbCr clip.

    4:2:0 chroma is the 2x2 box mean of ``planes.down2`` (odd sizes are edge-padded first);
    4:0:0 keeps the luma only. The clip records the conversion in ``colour_source``.
    """
    if rgb.ndim != 4 or rgb.shape[3] not in (1, 3):
        raise DataError(f"expected T x H x W x 3 (or x 1) frames, got shape {rgb.shape}")
    depth = bitdepth or (8 if rgb.dtype == np.uint8 else 16)
    src = np.repeat(rgb, 3, axis=3) if rgb.shape[3] == 1 else rgb
    ycc = rgb_to_ycbcr(src, matrix, range_, depth)
    h, w = rgb.shape[1:3]
    planes = [ycc[..., 0]]
    if chroma == "444":
        planes += [ycc[..., 1], ycc[..., 2]]
    elif chroma == "420":
        padded = pl.pad_to_even(ycc)
        planes += [pl.down2(padded[..., 1]), pl.down2(padded[..., 2])]
    elif chroma != "400":
        raise DataError(f"unsupported chroma {chroma!r}; choose from: {', '.join(CHROMAS)}")
    note = f"converted from {source}: {matrix} {range_} range"
    if chroma == "420":
        note += f"; {pl.CHROMA_FILTERS.split(';')[0]}"
    return Clip(
        tuple(
            pl.quantise(p, depth)[:, : s[0], : s[1]] for p, s in zip(planes, plane_shapes(h, w, chroma), strict=True)
        ),
        chroma,
        depth,
        Fraction(fps).limit_denominator(1001 * 1000),
        matrix,
        range_,
        note,
    )
