"""Read and write clips: y4m, raw planar .yuv, PNG frame folders.

- **y4m**: planes as stored (``bench.y4m`` parses the header); the header's token layout is
  kept on the clip, so reading and writing a file gives the same bytes. Range from
  ``XCOLORRANGE`` (absent: limited, assumed); y4m has no matrix tag (BT.601 unless told).
- **raw .yuv**: geometry from the name, ``name_WxH[_FPS[fps]][_Nbit][.pix_fmt].yuv`` (the
  Vooya / CompressAI convention, e.g. ``foreman_176x144_30fps.yuv``,
  ``sparks_480x270_10bit.yuv``, ``src01_hrc00_576x324.yuv420p10le.yuv``), or from arguments;
  4:2:0 unless the name or ``chroma`` says otherwise; > 8 bit is little-endian. Raw files
  carry no colour information: matrix and range are arguments, recorded as assumed.
- **PNG folders**: frames sorted by name, RGB (8 or 16 bit) via ``bench.data.load_image``;
  ``read_video`` converts them with :func:`bench.video.clip.clip_from_rgb`.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from bench.data import load_image
from bench.errors import DataError
from bench.video.clip import CHROMAS, Clip, clip_from_rgb, plane_shapes
from bench.y4m import read_y4m_header, y4m_frames

_YUV_NAME = re.compile(
    r"_(?P<w>\d+)x(?P<h>\d+)(?:_(?P<fps>\d+(?:\.\d+)?)(?:fps|hz)?)?"
    r"(?:_(?P<bits>\d+)bit)?(?:\.(?P<fmt>\w+))?$",
    re.IGNORECASE,
)
_PIX_FMT = re.compile(r"(?:yuv(?P<c>420|444)p|(?P<g>gray))(?P<d>\d+)?(?:le)?")
_RANGES = {"LIMITED": "limited", "FULL": "full"}


@dataclass(frozen=True)
class YuvName:
    """What a raw file's name says (``None`` where it is silent)."""

    width: int
    height: int
    fps: Fraction | None
    bitdepth: int | None
    chroma: str | None


def parse_yuv_name(path: Path) -> YuvName:
    """Geometry from ``name_WxH[_FPS[fps]][_Nbit][.pix_fmt].yuv``; DataError if absent."""
    m = _YUV_NAME.search(Path(path).name.removesuffix(".yuv"))
    if not m:
        raise DataError(
            f"{path}: cannot read the size from the name; name it "
            "name_WxH[_FPSfps][_10bit].yuv or pass width and height"
        )
    chroma = depth = None
    if m["fmt"]:
        fmt = _PIX_FMT.fullmatch(m["fmt"])
        if not fmt:
            raise DataError(
                f"{path}: unsupported pixel format {m['fmt']!r} in the name "
                "(supported: yuv420p, yuv444p, gray, with a bit depth such as 10le)"
            )
        chroma, depth = ("400" if fmt["g"] else fmt["c"]), int(fmt["d"] or 8)
    bits = int(m["bits"]) if m["bits"] else depth
    fps = _named_fps(m["fps"]) if m["fps"] else None
    return YuvName(int(m["w"]), int(m["h"]), fps, bits, chroma)


def _named_fps(text: str) -> Fraction:
    """A frame rate as written in a name; 23.976, 29.97, 59.94 ... mean the NTSC n*1000/1001."""
    value = Fraction(text)
    decimals = len(text.partition(".")[2])
    for base in (24, 30, 48, 60, 120):
        ntsc = Fraction(base * 1000, 1001)
        if decimals and round(float(ntsc), decimals) == float(value):
            return ntsc
    return value


def _frame_range(total: int, start: int, frames: int | None, path: Path) -> range:
    stop = total if frames is None else start + frames
    if not 0 <= start < stop <= total:
        raise DataError(f"{path}: asked for frames {start}..{stop - 1}, the file has {total}")
    return range(start, stop)


def read_yuv(
    path: Path,
    *,
    width: int | None = None,
    height: int | None = None,
    fps: Fraction | float | None = None,
    bitdepth: int | None = None,
    chroma: str | None = None,
    matrix: str = "bt601",
    range_: str = "limited",
    start: int = 0,
    frames: int | None = None,
) -> Clip:
    """A raw planar file; arguments override what the name says."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"video not found: {path}")
    named = None
    if not (width and height):
        named = parse_yuv_name(path)
        width, height = width or named.width, height or named.height
    fps = fps or (named.fps if named else None)
    if fps is None:
        raise DataError(f"{path}: the name has no frame rate; pass fps (needed for kbps)")
    depth = bitdepth or (named.bitdepth if named else None) or 8
    chroma = chroma or (named.chroma if named else None) or "420"
    if chroma not in CHROMAS:
        raise DataError(f"unsupported chroma {chroma!r}; choose from: {', '.join(CHROMAS)}")
    shapes = plane_shapes(height, width, chroma)
    dtype = np.dtype("u1" if depth == 8 else "<u2")
    per_frame = sum(h * w for h, w in shapes)
    size = path.stat().st_size
    if size == 0 or size % (per_frame * dtype.itemsize):
        raise DataError(
            f"{path}: {size} bytes is not a whole number of {width}x{height} "
            f"{chroma} {depth}-bit frames ({per_frame * dtype.itemsize} bytes each)"
        )
    span = _frame_range(size // (per_frame * dtype.itemsize), start, frames, path)
    data = np.fromfile(
        path, dtype=dtype, count=len(span) * per_frame, offset=span.start * per_frame * dtype.itemsize
    ).reshape(len(span), -1)
    cuts = np.cumsum([h * w for h, w in shapes])[:-1]
    planes = tuple(
        np.ascontiguousarray(p).reshape(len(span), *s).astype(dtype.newbyteorder("="))
        for p, s in zip(np.split(data, cuts, axis=1), shapes, strict=True)
    )
    return Clip(
        planes,
        chroma,
        depth,
        Fraction(fps).limit_denominator(1001 * 1000),
        matrix,
        range_,
        "assumed: raw .yuv carries no colour information",
    )


def yuv_name(stem: str, clip: Clip) -> str:
    """The file name :func:`read_yuv` parses back to this clip's geometry."""
    fps = f"{float(clip.fps):g}"
    depth = f"_{clip.bitdepth}bit" if clip.bitdepth != 8 else ""
    fmt = "" if clip.chroma == "420" else f".{clip.pix_fmt}"
    return f"{stem}_{clip.width}x{clip.height}_{fps}fps{depth}{fmt}.yuv"


def write_yuv(path: Path, clip: Clip) -> None:
    """Planes frame by frame (Y, then U, then V), little-endian above 8 bit, no header."""
    dtype = np.dtype("u1" if clip.bitdepth == 8 else "<u2")
    flat = [p.astype(dtype).reshape(clip.n_frames, -1) for p in clip.planes]
    Path(path).write_bytes(np.concatenate(flat, axis=1).tobytes())


def _c_tag(chroma: str, bitdepth: int) -> str:
    """The ``C`` token ffmpeg writes for these planes."""
    if chroma == "400":
        return "mono" if bitdepth == 8 else f"mono{bitdepth}"
    base = "420jpeg" if chroma == "420" and bitdepth == 8 else chroma
    return base if bitdepth == 8 else f"{base}p{bitdepth}"


def read_y4m(path: Path, *, matrix: str = "bt601", start: int = 0, frames: int | None = None) -> Clip:
    """A y4m file's frames as stored; matrix is an argument (y4m has no tag for it)."""
    path = Path(path)
    hdr = read_y4m_header(path)
    if hdr.chroma == "422":
        raise DataError(f"{path}: 4:2:2 clips are not supported (choose 4:2:0, 4:4:4 or mono)")
    chroma = "400" if hdr.chroma == "mono" else hdr.chroma
    span = _frame_range(hdr.n_frames, start, frames, path)
    chosen = list(itertools.islice(y4m_frames(path), span.start, span.stop))
    planes = tuple(np.stack([f[c] for f in chosen]) for c in range(len(chosen[0])))
    with open(path, "rb") as f:
        tokens = tuple(f.readline(4096).decode("ascii").split()[1:])
    tag = (hdr.color_range or "").upper()
    if tag and tag not in _RANGES:
        raise DataError(f"{path}: unknown XCOLORRANGE={hdr.color_range}")
    range_ = _RANGES.get(tag, "limited")
    source = (
        f"range: y4m XCOLORRANGE={tag}" if tag else "range: assumed limited (no XCOLORRANGE)"
    ) + f"; matrix: {matrix} assumed (y4m has no matrix tag)"
    return Clip(planes, chroma, hdr.bitdepth, hdr.fps, matrix, range_, source, tokens)


def write_y4m(path: Path, clip: Clip) -> None:
    """Write the planes as stored; a clip read from y4m keeps its header layout.

    W, H, F, C and XCOLORRANGE are rendered from the clip (a changed clip gets a matching
    header); other tokens are copied. ``XYSCSS`` is dropped when the format changed.
    """
    c_tag = _c_tag(clip.chroma, clip.bitdepth)
    tokens = clip.y4m_tokens or ("W", "H", "F", "Ip", "A1:1", "C", "XCOLORRANGE")
    kept_c = next((t[1:] for t in tokens if t.startswith("C")), None)
    same_format = kept_c is not None and _same_format(kept_c, clip)
    values = {
        "W": f"W{clip.width}",
        "H": f"H{clip.height}",
        "F": f"F{clip.fps.numerator}:{clip.fps.denominator}",
        "C": f"C{kept_c if same_format else c_tag}",
        "XCOLORRANGE": f"XCOLORRANGE={clip.range.upper()}",
    }
    out = []
    for tok in tokens:
        key = tok.split("=", 1)[0] if tok.startswith("X") else tok[0]
        if key == "XYSCSS" and not same_format:
            continue
        out.append(values.get(key, tok))
    if not any(t.startswith("C") for t in out):
        out.append(values["C"])
    dtype = np.dtype("u1" if clip.bitdepth == 8 else "<u2")
    with open(path, "wb") as f:
        f.write(("YUV4MPEG2 " + " ".join(out) + "\n").encode("ascii"))
        for t in range(clip.n_frames):
            f.write(b"FRAME\n" + b"".join(p[t].astype(dtype).tobytes() for p in clip.planes))


def _same_format(c_token: str, clip: Clip) -> bool:
    """Whether a kept ``C`` token (``420jpeg``, ``420paldv``, ``444p10`` ...) still fits."""
    m = re.fullmatch(r"(420|444|mono)\D*(\d+)?", c_token)
    if not m:
        return False
    chroma = {"mono": "400"}.get(m[1], m[1])
    return chroma == clip.chroma and int(m[2] or 8) == clip.bitdepth


def read_png_frames(folder: Path, *, start: int = 0, frames: int | None = None) -> np.ndarray:
    """``T x H x W x C`` frames of a folder of PNGs, sorted by file name, as stored (8/16 bit)."""
    folder = Path(folder)
    files = sorted(folder.glob("*.png"))
    if not files:
        raise DataError(f"no PNG frames in {folder}")
    span = _frame_range(len(files), start, frames, folder)
    images = [load_image(files[i]) for i in span]
    if len({(im.shape, im.dtype) for im in images}) != 1:
        raise DataError(f"{folder}: frames differ in size, channels or bit depth")
    return np.stack(images)


def write_png_frames(folder: Path, frames: np.ndarray, pattern: str = "f{:03d}.png") -> list[Path]:
    """One lossless PNG per frame (numbered from 1, like the CTC PNG folders)."""
    import cv2

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(frames, start=1):
        path = folder / pattern.format(i)
        bgr = img[..., ::-1] if img.shape[-1] == 3 else img
        if not cv2.imwrite(str(path), np.ascontiguousarray(bgr)):
            raise DataError(f"could not write {path}")
        paths.append(path)
    return paths


def read_video(
    path: Path,
    *,
    fps: Fraction | float | None = None,
    start: int = 0,
    frames: int | None = None,
    chroma: str | None = None,
    matrix: str = "bt601",
    range_: str = "limited",
    bitdepth: int | None = None,
) -> Clip:
    """Any supported source as a clip: ``.y4m``, ``.yuv`` or a PNG folder (converted to YCbCr
    ``chroma``, default 4:4:4, with ``matrix``/``range_``; a PNG folder needs ``fps``)."""
    path = Path(path)
    if path.is_dir():
        if fps is None:
            raise DataError(f"{path}: a PNG folder has no frame rate; pass fps")
        rgb = read_png_frames(path, start=start, frames=frames)
        return clip_from_rgb(
            rgb, fps=fps, chroma=chroma or "444", matrix=matrix, range_=range_, source=f"PNG frames in {path.name}"
        )
    if path.suffix.lower() == ".y4m":
        return read_y4m(path, matrix=matrix, start=start, frames=frames)
    if path.suffix.lower() == ".yuv":
        return read_yuv(
            path, fps=fps, bitdepth=bitdepth, chroma=chroma, matrix=matrix, range_=range_, start=start, frames=frames
        )
    raise DataError(f"{path}: unsupported video (use .y4m, .yuv or a folder of PNG frames)")
