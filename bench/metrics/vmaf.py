"""VMAF through the bundled static ffmpeg's libvmaf filter (built-in models, JSON log).

Rules from METHOD §8: one image or one same-size clip per call (ffmpeg would rescale mixed sizes
to the first frame, and unrelated images would read as motion); ffmpeg's input order is
``[distorted][reference]libvmaf``; one model per call; no silent pixel-format conversion (a
format libvmaf cannot take would make ffmpeg insert a scaler, which we refuse).

Images go in as raw planar YUV 4:4:4 that we convert ourselves: BT.601 *limited* range (the
matrix and range ffmpeg applies by default when fed RGB PNGs, so numbers agree with the common
``ffmpeg -i a.png ... libvmaf`` pipelines), rounded to integers. Gray images are treated as
R = G = B. 8-bit images use 8-bit YUV; 9–16-bit images use the next container depth of 10, 12
or 16 bits. VMAF reads only the luma plane; chroma is written for completeness.

A single still frame has no motion, so even a perfect copy scores about 97.43 with
vmaf_v0.6.1, not 100: compare images with each other, not with 100.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from bench.codecs.ffmpeg_tools import has_filter, run_ffmpeg
from bench.errors import BenchError, DataError
from bench.metrics.common import check_pair, peak, rgb_to_ycbcr, row_blocks
from bench.metrics.frames import SequencePair, StoredPlanes

MODELS = ("vmaf_v0.6.1", "vmaf_v0.6.1neg")
IMAGE_MATRIX = "BT.601 limited range, YUV 4:4:4"  # how vmaf_image converts RGB
# Formats libvmaf takes without ffmpeg inserting a converter (checked against ffmpeg 9.0).
PIX_FMTS = frozenset(f"yuv{c}p{d}" for c in ("420", "422", "444") for d in ("", "10le", "12le", "16le"))
_SAFE_PATH = re.compile(r"^[\w./-]+$")
MIN_SIDE = 17  # the bundled libvmaf crashes (SIGSEGV) on frames 16 pixels high or wide or less


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


def _run(dist_in: list[str], ref_in: list[str], model: str, n_threads: int | None, workdir: Path) -> dict:
    """Run libvmaf on two prepared ffmpeg inputs; return the parsed JSON log."""
    log = workdir / "vmaf.json"
    if not _SAFE_PATH.match(str(log)):  # the path sits inside a filtergraph string
        raise BenchError(
            f"temporary path {log} has characters ffmpeg filter options cannot take; set TMPDIR to a plain path"
        )
    opts = f"model=version={model}:log_fmt=json:log_path={log}"
    if n_threads:
        opts += f":n_threads={int(n_threads)}"
    args = ["-v", "verbose", *dist_in, *ref_in, "-lavfi", f"[0:v][1:v]libvmaf={opts}", "-f", "null", "-"]
    proc = run_ffmpeg(args, what="libvmaf", param=model)
    if b"auto-inserting filter" in proc.stderr:
        raise BenchError(
            "ffmpeg inserted a pixel-format or colour-range conversion before "
            f"libvmaf; give both inputs one range and a format from {sorted(PIX_FMTS)}"
        )
    return json.loads(log.read_text())


def _summary(log: dict, model: str) -> dict:
    frames = [f["metrics"]["vmaf"] for f in log["frames"]]
    return {
        "vmaf": float(log["pooled_metrics"]["vmaf"]["mean"]),
        "frames": frames,
        "n_frames": len(frames),
        "model": model,
        "libvmaf": log.get("version", "unknown"),
    }


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


def _write_planes(path: Path, planes: Sequence[np.ndarray]) -> None:
    """Raw planar video as ffmpeg's rawvideo reads it: each frame's planes in turn, little-endian."""
    dtype = np.dtype("u1" if planes[0].dtype == np.uint8 else "<u2")
    flat = [p.astype(dtype).reshape(planes[0].shape[0], -1) for p in planes]
    path.write_bytes(np.concatenate(flat, axis=1).tobytes())


def _vmaf_planes(
    ref: Sequence[np.ndarray],
    dist: Sequence[np.ndarray],
    pix_fmt: str,
    *,
    model: str = "vmaf_v0.6.1",
    n_threads: int | None = None,
) -> dict:
    """VMAF of two sequences given as planes (Y, U, V; each ``T x h x w``) in ``pix_fmt``: one
    libvmaf call over the frames in order; returns what :func:`vmaf_video` returns."""
    _check_model(model)
    h, w = ref[0].shape[1:]
    _check_size(w, h)
    with tempfile.TemporaryDirectory(prefix="bench-vmaf-") as tmp:
        paths = [Path(tmp) / "dist.yuv", Path(tmp) / "ref.yuv"]
        for path, planes in zip(paths, (dist, ref), strict=True):
            _write_planes(path, planes)
        ins = [["-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{w}x{h}", "-i", f"file:{p}"] for p in paths]
        return _summary(_run(ins[0], ins[1], model, n_threads, Path(tmp)), model)


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
    got = _vmaf_planes(ref, dist, pix_fmt, model=model, n_threads=n_threads)
    if got["n_frames"] != seq.n_frames:
        raise DataError(f"libvmaf scored {got['n_frames']} frames, expected {seq.n_frames}")
    return got


def vmaf_image(
    ref: np.ndarray, dist: np.ndarray, bitdepth: int = 8, model: str = "vmaf_v0.6.1", n_threads: int | None = None
) -> float:
    """VMAF of one distorted image against its reference (one ffmpeg call, one frame)."""
    ref, dist = check_pair(ref, dist, bitdepth)
    return vmaf_sequence(SequencePair(ref[None], dist[None], bitdepth), model, n_threads)["vmaf"]


class _Clip(NamedTuple):
    """One prepared ffmpeg input and what must match between reference and distorted."""

    args: list[str]
    width: int
    height: int
    pix_fmt: str
    frames: int
    color_range: str | None  # y4m XCOLORRANGE; ffmpeg converts between differing ranges

    def describe(self) -> str:
        rng = f", range {self.color_range}" if self.color_range else ""
        return f"{self.width}x{self.height} {self.pix_fmt}, {self.frames} frames{rng}"


def _raw_clip(path: Path, width: int, height: int, pix_fmt: str) -> _Clip:
    """A raw .yuv input (its size must be whole frames)."""
    from bench.y4m import yuv_frame_bytes  # file I/O only: scoring arrays and clips never loads it

    frame = yuv_frame_bytes(width, height, pix_fmt)
    size = path.stat().st_size
    if size == 0 or size % frame:
        raise DataError(
            f"{path}: {size} bytes is not a whole number of {width}x{height} "
            f"{pix_fmt} frames ({frame} bytes each); check width, height and pix_fmt"
        )
    args = ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{width}x{height}", "-i", f"file:{path}"]
    return _Clip(args, width, height, pix_fmt, size // frame, None)


def _clip(path: Path, width: int | None, height: int | None, pix_fmt: str | None, tmp: Path, tag: str) -> _Clip:
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
        raw = tmp / f"{tag}.yuv"
        _write_mono_as_420(path, raw, hdr.bitdepth)
        return _raw_clip(raw, hdr.width, hdr.height, "yuv420p" if depth == 8 else f"yuv420p{depth}le")
    if hdr.pix_fmt not in PIX_FMTS:
        raise DataError(f"{path}: libvmaf cannot take {hdr.pix_fmt}; choose from {sorted(PIX_FMTS)}")
    return _Clip(
        ["-f", "yuv4mpegpipe", "-i", f"file:{path}"], hdr.width, hdr.height, hdr.pix_fmt, hdr.n_frames, hdr.color_range
    )


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

    Raw ``.yuv`` needs ``width``, ``height`` and ``pix_fmt``; ``.y4m`` files carry them (mono y4m
    is written to a temporary 4:2:0 file with mid-grey chroma, which VMAF ignores). Both clips
    must agree in size, format, colour range and frame count. Returns ``vmaf``, per-frame
    ``frames``, ``n_frames``, ``model`` and the ``libvmaf`` version.
    """
    _check_model(model)
    ref_path, dist_path = Path(ref_path), Path(dist_path)
    for p in (ref_path, dist_path):
        if not p.is_file():
            raise DataError(f"video not found: {p}")
    with tempfile.TemporaryDirectory(prefix="bench-vmaf-") as tmp:
        dist = _clip(dist_path, width, height, pix_fmt, Path(tmp), "dist")
        ref = _clip(ref_path, width, height, pix_fmt, Path(tmp), "ref")
        if dist[1:] != ref[1:]:
            raise DataError(
                f"reference ({ref.describe()}) and distorted ({dist.describe()}) "
                "differ; VMAF compares clips of one size, format, range and length"
            )
        _check_size(ref.width, ref.height)
        return _summary(_run(dist.args, ref.args, model, n_threads, Path(tmp)), model)


def _write_mono_as_420(src: Path, dst: Path, bitdepth: int) -> None:
    """Luma scaled to the container depth (9 -> 10 bit etc.), chroma at mid-grey."""
    from bench.y4m import y4m_frames

    depth = _container_depth(bitdepth)
    dtype = np.dtype("<u1" if depth == 8 else "<u2")
    with open(dst, "wb") as out:
        for (y,) in y4m_frames(src):
            h, w = y.shape
            mid = np.full(((h + 1) // 2, (w + 1) // 2), 2 ** (depth - 1), dtype=dtype)
            luma = y.astype(dtype) << (depth - bitdepth)
            out.write(luma.tobytes() + mid.tobytes() * 2)
