"""Image sizes read from file headers, so an oversized input is refused before it is decoded.

Why: a PNG of 30000x30000 mostly-zero pixels is 2.6 MB on disk and 2.7 GB once decoded (9 GB at
the peak of loading and converting it). Every format the loaders take has its size in a few
header bytes; reading them costs nothing next to the sha256 every item gets anyway.
"""

from __future__ import annotations

import re
import struct
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from bench.errors import DataError

# 8192 x 8192: the largest size whose metrics benchmarks/memory.py measures within 4 GB.
DEFAULT_MAX_PIXELS = 1 << 26
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_RADIANCE_SIZE = re.compile(rb"\n\n?([-+])([XY]) (\d+) ([-+])([XY]) (\d+)\r?\n")


def _png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the IHDR chunk, which the PNG standard puts first; None if not a PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != _PNG_MAGIC or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def _radiance_size(path: Path) -> tuple[int, int]:
    """The resolution line after the header's blank line, e.g. ``-Y 512 +X 768``."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    m = _RADIANCE_SIZE.search(head)
    if m is None:
        raise DataError(f"cannot decode {path}: no Radiance resolution line (such as -Y 512 +X 768) in its header")
    first, second = int(m[3]), int(m[6])
    return (second, first) if m[2] == b"Y" else (first, second)


def _exr_size(path: Path) -> tuple[int, int]:
    import OpenEXR

    try:
        with OpenEXR.File(str(path), header_only=True) as f:
            (x0, y0), (x1, y1) = f.header()["dataWindow"]
    except Exception as exc:  # the bindings raise bare RuntimeError/OSError for damaged files
        raise DataError(f"cannot decode {path}: not a readable OpenEXR header ({exc})") from None
    return int(x1 - x0 + 1), int(y1 - y0 + 1)


def _tiff_size(path: Path) -> tuple[int, int]:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            return int(page.imagewidth), int(page.imagelength)
    except Exception as exc:  # tifffile raises many kinds for a damaged file
        raise DataError(f"cannot decode {path}: {exc} (truncated or not a TIFF?)") from None


def _pillow_size(path: Path) -> tuple[int, int]:
    """Pillow reads only the header on open; beyond its own limit it refuses, as it would to decode."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return im.size
    except Image.DecompressionBombError as exc:
        raise DataError(f"cannot decode {path}: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"cannot decode {path}: {exc} (truncated or not an image?)") from None


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file (first frame of a y4m/AVIF) from its header alone."""
    from bench import highbit
    from bench.y4m import read_y4m_header

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".y4m":
        hdr = read_y4m_header(path)
        return hdr.width, hdr.height
    if suffix == ".avif":
        _, width, height = highbit.stream_depth_and_size(path)
        return width, height
    if suffix == ".exr":
        return _exr_size(path)
    if suffix == ".hdr":
        return _radiance_size(path)
    if suffix in (".tif", ".tiff"):
        return _tiff_size(path)
    return _png_size(path) or _pillow_size(path)


def check_pixels(path: Path, max_pixels: int, key: str, size: tuple[int, int] | None = None) -> None:
    """Refuse an image with more than ``max_pixels`` pixels, naming its size and the config ``key``;
    ``size`` (width, height) when the caller knows it (a raw video's name), else from the header."""
    width, height = size or image_size(path)
    if width * height > max_pixels:
        raise DataError(
            f"{path} is {width}x{height} ({width * height:,} pixels), more than {key} = "
            f"{max_pixels:,}; crop or downscale it, or raise {key}"
        )
