"""Minimal YUV4MPEG2 (.y4m) reader and writer: planar 4:2:0 / 4:2:2 / 4:4:4 / mono, 8–16 bit.

Planes come back exactly as stored (uint8, or little-endian uint16 for > 8 bit): no range or
matrix conversion happens here, so untouched planes stay byte-identical through a round trip.
Header reference: the ``C`` tags are those ffmpeg writes (``420jpeg``, ``420p10``, ``444``,
``mono``, ``mono10`` ...); an absent ``C`` means ``420jpeg``. ``XCOLORRANGE`` is kept if present.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from bench.errors import DataError

MAGIC = b"YUV4MPEG2"
_C_TAG = re.compile(r"^(?P<chroma>420|422|444|mono)(?:jpeg|paldv|mpeg2)?(?:p?(?P<depth>\d+))?$")


def plane_shapes(width: int, height: int, chroma: str) -> list[tuple[int, int]]:
    """(rows, cols) of each plane; odd sizes round the chroma up."""
    if chroma == "mono":
        return [(height, width)]
    cw = width if chroma == "444" else (width + 1) // 2
    ch = (height + 1) // 2 if chroma == "420" else height
    return [(height, width), (ch, cw), (ch, cw)]


def yuv_frame_bytes(width: int, height: int, pix_fmt: str) -> int:
    """Bytes of one raw frame in an ffmpeg planar pix_fmt such as ``yuv420p10le`` or ``gray``."""
    m = re.fullmatch(r"(?:yuv(?P<c>420|422|444)p|(?P<g>gray))(?P<d>\d+)?(?:le)?", pix_fmt)
    if not m:
        raise DataError(
            f"unsupported raw pix_fmt {pix_fmt!r}; use yuv420p/yuv422p/yuv444p/gray "
            "with an optional bit depth such as yuv420p10le"
        )
    chroma = "mono" if m["g"] else m["c"]
    per = 1 if not m["d"] or int(m["d"]) == 8 else 2
    return per * sum(h * w for h, w in plane_shapes(width, height, chroma))


@dataclass(frozen=True)
class Y4MHeader:
    """What a y4m stream header says, plus the frame count found by scanning the file."""

    width: int
    height: int
    fps: Fraction
    chroma: str  # "420", "422", "444" or "mono"
    bitdepth: int
    color_range: str | None
    header_len: int
    n_frames: int

    @property
    def pix_fmt(self) -> str:
        """ffmpeg's name for the planes, e.g. ``yuv420p`` or ``yuv444p10le``."""
        base = "gray" if self.chroma == "mono" else f"yuv{self.chroma}p"
        return base if self.bitdepth == 8 else f"{base}{self.bitdepth}le"

    @property
    def frame_bytes(self) -> int:
        return yuv_frame_bytes(self.width, self.height, self.pix_fmt)

    def describe(self) -> str:
        rng = f", range {self.color_range}" if self.color_range else ""
        return f"{self.width}x{self.height} {self.pix_fmt}, {self.n_frames} frames{rng}"


def _parse_params(line: bytes, path: Path) -> dict[str, str]:
    parts = line.decode("ascii", errors="replace").split()
    if not parts or parts[0] != MAGIC.decode():
        raise DataError(f"{path}: not a y4m file (no YUV4MPEG2 header)")
    params: dict[str, str] = {}
    for tok in parts[1:]:
        if tok.startswith("X"):
            key, _, val = tok[1:].partition("=")
            params[f"X{key}"] = val
        else:
            params[tok[0]] = tok[1:]
    return params


def read_y4m_header(path: Path) -> Y4MHeader:
    """Parse the stream header and count frames (seeking past each frame's data)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"video not found: {path}")
    with open(path, "rb") as f:
        line = f.readline(4096)
        params = _parse_params(line.rstrip(b"\n"), path)
        try:
            width, height = int(params["W"]), int(params["H"])
            num, _, den = params.get("F", "25:1").partition(":")
            fps = Fraction(int(num), int(den or 1))
        except (KeyError, ValueError, ZeroDivisionError):
            raise DataError(f"{path}: y4m header lacks a valid W, H or F: {line[:80]!r}") from None
        if width < 1 or height < 1 or fps <= 0:
            raise DataError(
                f"{path}: y4m header gives size {width}x{height} at {fps} fps; width, height and "
                "frame rate must be positive (a damaged or hand-written header?)"
            )
        m = _C_TAG.match(params.get("C", "420jpeg"))
        if not m:
            raise DataError(
                f"{path}: unsupported y4m colour space C{params['C']} (supported: 420/422/444/mono, 8-16 bit)"
            )
        depth = int(m["depth"] or 8)
        if not 8 <= depth <= 16:
            raise DataError(f"{path}: unsupported y4m bit depth {depth}")
        hdr = Y4MHeader(width, height, fps, m["chroma"], depth, params.get("XCOLORRANGE"), len(line), 0)
        n, size = 0, path.stat().st_size
        while f.tell() < size:
            tag = f.readline(4096)
            if not tag.startswith(b"FRAME") or f.tell() + hdr.frame_bytes > size:
                raise DataError(f"{path}: frame {n} is truncated or lacks its FRAME header")
            f.seek(hdr.frame_bytes, 1)
            n += 1
    return replace(hdr, n_frames=n)


def y4m_frames(path: Path) -> Iterator[tuple[np.ndarray, ...]]:
    """Yield each frame as its planes (Y, U, V) or (Y,) for mono, dtype uint8 or uint16."""
    hdr = read_y4m_header(path)
    dtype = np.dtype(np.uint8) if hdr.bitdepth == 8 else np.dtype("<u2")
    shapes = plane_shapes(hdr.width, hdr.height, hdr.chroma)
    with open(path, "rb") as f:
        f.seek(hdr.header_len)
        for _ in range(hdr.n_frames):
            f.readline(4096)
            data = np.frombuffer(f.read(hdr.frame_bytes), dtype=dtype)
            planes, at = [], 0
            for h, w in shapes:
                planes.append(data[at : at + h * w].reshape(h, w).astype(dtype.newbyteorder("=")))
                at += h * w
            yield tuple(planes)


def write_y4m(
    path: Path,
    frames: Iterable[tuple[np.ndarray, ...]],
    *,
    chroma: str = "420",
    bitdepth: int = 8,
    fps: Fraction = Fraction(25),
    color_range: str | None = None,
) -> None:
    """Write planes exactly as given; checks every plane's shape and that values fit the depth."""
    frames = list(frames)
    if not frames:
        raise DataError(f"{path}: no frames to write")
    height, width = frames[0][0].shape
    tag = {"420": "420jpeg" if bitdepth == 8 else "420"}.get(chroma, chroma)
    tag += "" if bitdepth == 8 else (f"{bitdepth}" if chroma == "mono" else f"p{bitdepth}")
    header = f"YUV4MPEG2 W{width} H{height} F{fps.numerator}:{fps.denominator} Ip A1:1 C{tag}"
    if color_range:
        header += f" XCOLORRANGE={color_range}"
    shapes = plane_shapes(width, height, chroma)
    dtype = np.dtype(np.uint8) if bitdepth == 8 else np.dtype("<u2")
    with open(path, "wb") as f:
        f.write(header.encode() + b"\n")
        for i, planes in enumerate(frames):
            if [p.shape for p in planes] != shapes:
                raise DataError(
                    f"frame {i}: plane shapes {[p.shape for p in planes]}, expected "
                    f"{shapes} for {width}x{height} {chroma}"
                )
            if any(int(p.max()) >= 2**bitdepth or int(p.min()) < 0 for p in planes):
                raise DataError(f"frame {i}: values outside {bitdepth}-bit range")
            f.write(b"FRAME\n" + b"".join(p.astype(dtype).tobytes() for p in planes))
