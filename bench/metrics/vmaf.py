"""VMAF through ``ffmpeg-quality-metrics`` on the bundled static ffmpeg (its libvmaf filter, the
package's model JSONs vmaf_v0.6.1 and vmaf_v0.6.1neg).

The package builds the filtergraph, runs ffmpeg and reads libvmaf's per-frame log. It takes video
files (no raw .yuv), so what stays here is what it does not do: handing it two y4m files (frame
arrays, stored planes, raw .yuv and mono y4m are written as y4m, a y4m file is linked) and the
checks that keep numbers comparable. Rules from METHOD §8: one image or one same-size clip per
call (unrelated images would read as motion); ``dist`` is the distorted clip and ``ref`` the
reference (motion is measured on the reference); one model per call; no pixel-format conversion:
both inputs have one size, one format from :data:`PIX_FMTS`, one range and one length, checked here
before the call (the package scales the distorted clip to the reference's size, which at equal
size and format passes frames through untouched). The pooled value is the mean of libvmaf's
per-frame scores, as printed in its log (6 decimals: within 5e-7 of libvmaf's own pooled mean).

Images go in as planar YUV 4:4:4 that we convert ourselves: BT.601 *limited* range (the matrix
and range ffmpeg applies by default when fed RGB PNGs, so numbers agree with the common
``ffmpeg -i a.png ... libvmaf`` pipelines), rounded to integers. Gray images are treated as
R = G = B. 8-bit images use 8-bit YUV; 9–16-bit images use the next container depth of 10, 12
or 16 bits. VMAF reads only the luma plane; chroma is written for completeness.

A single still frame has no motion, so even a perfect copy scores about 97.43 with
vmaf_v0.6.1, not 100: compare images with each other, not with 100.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from ffmpeg_quality_metrics import FfmpegQualityMetrics, FfmpegQualityMetricsError, VmafOptions

from bench.codecs.ffmpeg_tools import find_ffmpeg, has_filter
from bench.errors import BenchError, CodecError, DataError
from bench.metrics.common import check_pair, peak, rgb_to_ycbcr, row_blocks
from bench.metrics.frames import SequencePair, StoredPlanes

MODELS = ("vmaf_v0.6.1", "vmaf_v0.6.1neg")
IMAGE_MATRIX = "BT.601 limited range, YUV 4:4:4"  # how vmaf_image converts RGB
# Formats libvmaf takes without ffmpeg inserting a converter (checked against ffmpeg 9.0).
PIX_FMTS = frozenset(f"yuv{c}p{d}" for c in ("420", "422", "444") for d in ("", "10le", "12le", "16le"))
_SAFE_PATH = re.compile(r"^[\w./-]+$")
MIN_SIDE = 17  # the bundled libvmaf crashes (SIGSEGV) on frames 16 pixels high or wide or less
# VMAF pairs frames by index; a rate we give the package spares it two ffmpeg runs that read the files' own.
_RATE = 25.0


def _drop_missing_ffprobe(record: logging.LogRecord) -> bool:
    """imageio-ffmpeg ships no ffprobe, so the package's input probe would warn on every call;
    what it probes (size, length) is checked here before the call."""
    return not record.getMessage().startswith("ffprobe not found")


logging.getLogger("ffmpeg-quality-metrics").addFilter(_drop_missing_ffprobe)


def _check_size(width: int, height: int) -> None:
    if min(width, height) < MIN_SIDE:
        raise DataError(
            f"VMAF needs frames of at least {MIN_SIDE}x{MIN_SIDE} pixels, got "
            f"{width}x{height}; leave VMAF out for images this small"
        )


def _check_model(model: str) -> None:
    if model not in MODELS:
        raise BenchError(f"unknown VMAF model {model!r}; choose from: {', '.join(MODELS)}")
    if not has_filter("libvmaf"):
        raise BenchError(
            "this ffmpeg has no libvmaf filter; use the imageio-ffmpeg wheel's "
            "bundled ffmpeg (pip install imageio-ffmpeg) or set SANDWICH_FFMPEG"
        )


def _score(tmp: Path, model: str, n_threads: int | None, n_frames: int) -> dict:
    """libvmaf on ``tmp/dist.y4m`` against ``tmp/ref.y4m`` through ffmpeg-quality-metrics."""
    model_path = os.path.join(FfmpegQualityMetrics.DEFAULT_VMAF_MODEL_DIRECTORY, f"{model}.json")
    for what, path, fix in (("temporary", str(tmp), "set TMPDIR"), ("model", model_path, "install the venv")):
        if not _SAFE_PATH.match(path):  # the log and model paths sit inside a filtergraph string
            raise BenchError(
                f"{what} path {path} has characters ffmpeg filter options cannot take; {fix} at a plain path"
            )
    options: VmafOptions = {
        "model_path": model_path,
        "model_params": [],
        "n_threads": n_threads or 0,  # 0: libvmaf's default
        "n_subsample": 1,
        "features": [],
        "ten_bit": False,
    }
    try:
        fqm = FfmpegQualityMetrics(
            str(tmp / "ref.y4m"),
            str(tmp / "dist.y4m"),
            framerate=_RATE,
            tmp_dir=str(tmp),
            ffmpeg_path=str(find_ffmpeg()),
        )
        frames = [float(f["vmaf"]) for f in fqm.calculate(["vmaf"], options)["vmaf"]]
    except (FfmpegQualityMetricsError, RuntimeError) as exc:  # RuntimeError: ffmpeg exited non-zero
        raise CodecError("libvmaf", model, "ffmpeg-quality-metrics failed", str(exc)) from None
    if len(frames) != n_frames:
        raise DataError(f"libvmaf scored {len(frames)} frames, expected {n_frames}")
    return {"vmaf": float(np.mean(frames)), "frames": frames, "n_frames": n_frames, "model": model}


def _container_depth(bitdepth: int) -> int:
    return next(d for d in (8, 10, 12, 16) if d >= bitdepth)


def image_to_yuv444(img: np.ndarray, bitdepth: int) -> tuple[np.ndarray, int]:
    """RGB (or gray) H x W x C to a 3 x H x W BT.601 limited-range integer array and its depth,
    converted a block of rows at a time (no whole-image float64 copy)."""
    pk, mid = peak(bitdepth), 2.0 ** (bitdepth - 1)
    depth = _container_depth(bitdepth)
    out = np.empty((3, *img.shape[:2]), np.uint8 if depth == 8 else np.uint16)
    for rows in row_blocks(img.shape[0], 8 * 3 * img.shape[1]):
        part = img[rows]
        rgb = np.repeat(part[..., :1], 3, axis=2) if part.shape[2] == 1 else part[..., :3]
        y, cb, cr = rgb_to_ycbcr(rgb, bitdepth)  # full range, d-bit scale
        planes = np.stack([16 + 219 * y / pk, 128 + 224 * (cb - mid) / pk, 128 + 224 * (cr - mid) / pk]) * 2.0 ** (
            depth - 8
        )
        out[:, rows] = np.clip(np.rint(planes), 0, 2**depth - 1)
    return out, depth


def _y4m_header(width: int, height: int, pix_fmt: str, color_range: str | None = None) -> bytes:
    """The stream header of a y4m file holding ``pix_fmt`` (one of :data:`PIX_FMTS`) frames."""
    chroma, _, depth = pix_fmt.removeprefix("yuv").removesuffix("le").partition("p")
    tag = f"{chroma}p{depth}" if depth else ("420jpeg" if chroma == "420" else chroma)
    rng = f" XCOLORRANGE={color_range}" if color_range else ""
    return f"YUV4MPEG2 W{width} H{height} F{_RATE:.0f}:1 Ip A1:1 C{tag}{rng}\n".encode()


def _write_y4m(path: Path, header: bytes, frames: Iterable[bytes]) -> None:
    """A y4m file from its header and each frame's planes as stored (8-bit, or 16-bit little-endian)."""
    with open(path, "wb") as out:
        out.write(header)
        for frame in frames:
            out.write(b"FRAME\n" + frame)


def _plane_frames(planes: Sequence[np.ndarray]) -> Iterator[bytes]:
    """Each frame of planes (Y, U, V; each ``T x h x w``) as y4m frame data."""
    dtype = np.dtype("u1" if planes[0].dtype == np.uint8 else "<u2")
    for t in range(len(planes[0])):
        yield b"".join(p[t].astype(dtype).tobytes() for p in planes)


def _vmaf_planes(
    ref: Sequence[np.ndarray],
    dist: Sequence[np.ndarray],
    pix_fmt: str,
    *,
    model: str = "vmaf_v0.6.1",
    n_threads: int | None = None,
) -> dict:
    """VMAF of two sequences given as planes (Y, U, V; each ``T x h x w``) in ``pix_fmt``: one
    libvmaf run over the frames in order; returns what :func:`vmaf_video` returns."""
    _check_model(model)
    if pix_fmt not in PIX_FMTS:
        raise DataError(f"pix_fmt {pix_fmt!r} is not one libvmaf takes; choose from {sorted(PIX_FMTS)}")
    t, h, w = ref[0].shape
    _check_size(w, h)
    with tempfile.TemporaryDirectory(prefix="bench-vmaf-") as tmp:
        for name, planes in (("ref", ref), ("dist", dist)):
            _write_y4m(Path(tmp) / f"{name}.y4m", _y4m_header(w, h, pix_fmt), _plane_frames(planes))
        return _score(Path(tmp), model, n_threads, t)


def _frames_input(frames: np.ndarray, bitdepth: int) -> tuple[list[np.ndarray], str]:
    """``T x H x W x C`` RGB (or gray) frames as Y, U, V planes converted like
    :func:`image_to_yuv444`, and their pix_fmt."""
    converted = [image_to_yuv444(frame, bitdepth) for frame in frames]
    depth, data = converted[0][1], np.stack([c[0] for c in converted])
    return [data[:, c] for c in range(3)], "yuv444p" if depth == 8 else f"yuv444p{depth}le"


def _stored_input(clip: StoredPlanes) -> tuple[list[np.ndarray], str]:
    """A clip's stored planes and their pix_fmt; 4:0:0 gains mid-grey 4:2:0 chroma (VMAF reads luma)."""
    planes, chroma = list(clip.planes), clip.chroma
    if chroma == "400":
        t, h, w = planes[0].shape
        grey = np.full((t, (h + 1) // 2, (w + 1) // 2), 1 << (clip.bitdepth - 1), planes[0].dtype)
        planes, chroma = [planes[0], grey, grey], "420"
    return planes, f"yuv{chroma}p" + ("" if clip.bitdepth == 8 else f"{clip.bitdepth}le")


def vmaf_sequence(seq: SequencePair, model: str = "vmaf_v0.6.1", n_threads: int | None = None) -> dict:
    """VMAF of a checked pair over its frames in order (motion features need them): a clip goes in
    as its stored planes, frame arrays as BT.601 limited-range 4:4:4 (:data:`IMAGE_MATRIX`)."""
    if seq.clips is not None:
        (ref, pix_fmt), (dist, _) = (_stored_input(c) for c in seq.clips)
    else:
        (ref, pix_fmt), (dist, _) = (_frames_input(f, seq.bitdepth) for f in seq.rgb)
    return _vmaf_planes(ref, dist, pix_fmt, model=model, n_threads=n_threads)


def vmaf_image(
    ref: np.ndarray, dist: np.ndarray, bitdepth: int = 8, model: str = "vmaf_v0.6.1", n_threads: int | None = None
) -> float:
    """VMAF of one distorted image against its reference (one libvmaf run, one frame)."""
    ref, dist = check_pair(ref, dist, bitdepth)
    return vmaf_sequence(SequencePair(ref[None], dist[None], bitdepth), model, n_threads)["vmaf"]


class _Clip(NamedTuple):
    """One input, how to put it where the package reads it, and what must match between reference and distorted."""

    put: Callable[[Path], None]  # writes (or links) the clip at a path as y4m
    width: int
    height: int
    pix_fmt: str
    frames: int
    color_range: str | None  # y4m XCOLORRANGE; ffmpeg converts between differing ranges

    def describe(self) -> str:
        rng = f", range {self.color_range}" if self.color_range else ""
        return f"{self.width}x{self.height} {self.pix_fmt}, {self.frames} frames{rng}"


def _raw_frames(path: Path, frame_bytes: int) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(frame_bytes):
            yield chunk


def _raw_clip(path: Path, width: int, height: int, pix_fmt: str) -> _Clip:
    """A raw .yuv input (its size must be whole frames), rewritten as y4m."""
    from bench.y4m import yuv_frame_bytes  # file I/O only: scoring arrays and clips never loads it

    frame = yuv_frame_bytes(width, height, pix_fmt)
    size = path.stat().st_size
    if size == 0 or size % frame:
        raise DataError(
            f"{path}: {size} bytes is not a whole number of {width}x{height} "
            f"{pix_fmt} frames ({frame} bytes each); check width, height and pix_fmt"
        )

    def put(dst: Path) -> None:
        _write_y4m(dst, _y4m_header(width, height, pix_fmt), _raw_frames(path, frame))

    return _Clip(put, width, height, pix_fmt, size // frame, None)


def _mono_as_420(src: Path, bitdepth: int) -> Iterator[bytes]:
    """Luma scaled to the container depth (9 -> 10 bit etc.), chroma at mid-grey."""
    from bench.y4m import y4m_frames

    depth = _container_depth(bitdepth)
    dtype = np.dtype("<u1" if depth == 8 else "<u2")
    for (y,) in y4m_frames(src):
        h, w = y.shape
        mid = np.full(((h + 1) // 2, (w + 1) // 2), 2 ** (depth - 1), dtype=dtype)
        luma = y.astype(dtype) << (depth - bitdepth)
        yield luma.tobytes() + mid.tobytes() * 2


def _clip(path: Path, width: int | None, height: int | None, pix_fmt: str | None) -> _Clip:
    if path.suffix.lower() != ".y4m":
        if not (width and height and pix_fmt):
            raise DataError(f"{path}: raw video needs width, height and pix_fmt")
        if pix_fmt not in PIX_FMTS:
            raise DataError(f"pix_fmt {pix_fmt!r} is not one libvmaf takes; choose from {sorted(PIX_FMTS)}")
        return _raw_clip(path, width, height, pix_fmt)
    from bench.y4m import read_y4m_header

    hdr = read_y4m_header(path)
    if hdr.chroma == "mono":
        depth = _container_depth(hdr.bitdepth)
        fmt = "yuv420p" if depth == 8 else f"yuv420p{depth}le"

        def put_mono(dst: Path) -> None:
            _write_y4m(dst, _y4m_header(hdr.width, hdr.height, fmt), _mono_as_420(path, hdr.bitdepth))

        return _Clip(put_mono, hdr.width, hdr.height, fmt, hdr.n_frames, hdr.color_range)
    if hdr.pix_fmt not in PIX_FMTS:
        raise DataError(f"{path}: libvmaf cannot take {hdr.pix_fmt}; choose from {sorted(PIX_FMTS)}")

    def link(dst: Path) -> None:  # the link's plain name keeps odd file names out of ffmpeg's arguments
        dst.symlink_to(path.resolve())

    return _Clip(link, hdr.width, hdr.height, hdr.pix_fmt, hdr.n_frames, hdr.color_range)


def vmaf_video(
    ref_path: Path,
    dist_path: Path,
    *,
    width: int | None = None,
    height: int | None = None,
    pix_fmt: str | None = None,
    model: str = "vmaf_v0.6.1",
    n_threads: int | None = None,
) -> dict:
    """VMAF of a distorted clip against its reference, pooled (mean) over all frames.

    Raw ``.yuv`` needs ``width``, ``height`` and ``pix_fmt`` (it is rewritten as a temporary y4m);
    ``.y4m`` files carry them (mono y4m is written to a temporary 4:2:0 y4m with mid-grey chroma,
    which VMAF ignores). Both clips must agree in size, format, colour range and frame count.
    Returns ``vmaf``, per-frame ``frames``, ``n_frames`` and ``model``.
    """
    _check_model(model)
    ref_path, dist_path = Path(ref_path), Path(dist_path)
    for p in (ref_path, dist_path):
        if not p.is_file():
            raise DataError(f"video not found: {p}")
    dist = _clip(dist_path, width, height, pix_fmt)
    ref = _clip(ref_path, width, height, pix_fmt)
    if dist[1:] != ref[1:]:
        raise DataError(
            f"reference ({ref.describe()}) and distorted ({dist.describe()}) "
            "differ; VMAF compares clips of one size, format, range and length"
        )
    _check_size(ref.width, ref.height)
    with tempfile.TemporaryDirectory(prefix="bench-vmaf-") as tmp:
        ref.put(Path(tmp) / "ref.y4m")
        dist.put(Path(tmp) / "dist.y4m")
        return _score(Path(tmp), model, n_threads, ref.frames)
