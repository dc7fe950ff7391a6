"""High-bit-depth stills: their true bit depth, and the formats that carry them.

A source of true depth d (10, 12 or 16 bits per sample) is held as uint16 on the 16-bit scale,
``S16 = S_d << (16 - d)``, so every method sees one container. That is exact for the 8-MSB split
and its mid-point (``S16 >> 8 == S_d >> (d - 8)``; ``(B << 8) + 128`` is ``(B << (d-8)) + 2^(d-9)``
shifted up), and metrics bring both images back to depth d (:func:`to_depth`) so PSNR uses the
true peak 2^d - 1.

Formats: 16-bit PNG (its ``sBIT`` chunk gives the depth; samples below 2^sBIT are taken as
unscaled, as in a raw sensor dump), 10/12-bit y4m and AVIF (the first frame, converted to RGB at
the stream's own depth by ffmpeg's ``gbrp10le``/``gbrp12le``; the colour matrix and range come
from the stream), and TIFF (read by tifffile: float16/32 samples become a 16-bit source by the hdr
scenario's transfer, like EXR).
"""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import numpy as np

from bench.errors import DataError

STREAM_SUFFIXES = (".y4m", ".avif")


def png_sbit(path: Path) -> int | None:
    """The largest significant-bit count of a PNG's ``sBIT`` chunk, or None when it has none."""
    with open(path, "rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            return None
        while True:
            head = f.read(8)
            if len(head) < 8:
                return None
            length, kind = struct.unpack(">I4s", head)
            if kind == b"sBIT":
                return max(f.read(length))
            if kind in (b"IDAT", b"IEND"):
                return None
            f.seek(length + 4, 1)


def _ffmpeg() -> str:
    from bench.codecs.ffmpeg_tools import find_ffmpeg

    return str(find_ffmpeg())


def stream_depth_and_size(path: Path) -> tuple[int, int, int]:
    """(bit depth, width, height) of the first video stream of a y4m / AVIF file."""
    proc = subprocess.run([_ffmpeg(), "-hide_banner", "-i", f"file:{path}"], capture_output=True, text=True)
    line = next((ln for ln in proc.stderr.splitlines() if "Video:" in ln), None)
    if line is None:
        raise DataError(f"cannot decode {path}: ffmpeg finds no image stream in it (truncated or not an image?)")
    fmt = re.search(r"Video: [^,]+, ([a-z0-9]+)", line)
    size = re.search(r", (\d{2,5})x(\d{2,5})", line)
    if fmt is None or size is None:
        raise DataError(f"cannot read the pixel format and size of {path} from ffmpeg: {line.strip()}")
    depth = re.search(r"p(9|10|12|14|16)(le|be)?$", fmt.group(1))
    return (int(depth.group(1)) if depth else 8), int(size.group(1)), int(size.group(2))


def read_stream_still(path: Path) -> tuple[np.ndarray, int]:
    """The first frame of a y4m / AVIF as RGB at the stream's own depth (uint16 on the 16-bit scale)."""
    depth, w, h = stream_depth_and_size(path)
    out_depth = 10 if depth <= 10 else 12 if depth <= 12 else 16
    pix = {10: "gbrp10le", 12: "gbrp12le", 16: "gbrp16le"}[out_depth]
    cmd = [
        _ffmpeg(),
        "-v",
        "error",
        "-i",
        f"file:{path}",
        "-map",
        "0:v:0",
        "-frames:v",
        "1",
        "-pix_fmt",
        pix,
        "-f",
        "rawvideo",
        "-",
    ]
    proc = subprocess.run(cmd, capture_output=True)
    want = 3 * w * h * 2
    if proc.returncode != 0 or len(proc.stdout) != want:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise DataError(f"cannot decode {path} with ffmpeg ({tail[0]}); is it a complete {path.suffix} file?")
    g, b, r = np.frombuffer(proc.stdout, dtype="<u2").reshape(3, h, w)
    rgb = np.stack([r, g, b], axis=-1).astype(np.uint16)
    return np.ascontiguousarray(rgb << (16 - out_depth)), out_depth


def read_tiff(path: Path) -> np.ndarray:
    """A TIFF's samples as stored (uint8, uint16 or float32), H x W (x C), by tifffile: unlike
    OpenCV it reads float16 samples, and it gives RGB order."""
    import tifffile

    try:
        img = tifffile.imread(path)
    except Exception as exc:  # tifffile raises many kinds for a damaged file
        raise DataError(f"cannot decode {path}: {exc} (truncated or not a TIFF?)") from None
    if img.dtype.kind == "f":
        return np.ascontiguousarray(img.astype(np.float32))
    if img.dtype not in (np.uint8, np.uint16):
        raise DataError(f"{path}: TIFF samples of type {img.dtype} are not supported (uint8, uint16 or float)")
    return np.ascontiguousarray(img)


def scale_png16(img: np.ndarray, path: Path) -> tuple[np.ndarray, int]:
    """A 16-bit PNG's samples on the 16-bit scale and its true depth (from sBIT)."""
    bits = png_sbit(path) or 16
    if bits >= 16:
        return img, 16
    if int(img.max()) < (1 << bits):  # unscaled samples (a raw dump): move them to the top bits
        return (img << (16 - bits)).astype(np.uint16), bits
    return img, bits


def to_depth(img: np.ndarray, depth: int) -> np.ndarray:
    """A 16-bit-scale image brought to ``depth`` bits (rounded to that grid), a block of rows at a time
    (a whole float64 copy of a large image is gigabytes)."""
    from bench.metrics.common import row_blocks

    shift = 16 - depth
    if shift <= 0:
        return img
    out = np.empty(img.shape, np.uint16)
    for rows in row_blocks(img.shape[0], 8 * img[:1].size):
        out[rows] = np.clip(np.rint(img[rows].astype(np.float64) / (1 << shift)), 0, (1 << depth) - 1)
    return out
