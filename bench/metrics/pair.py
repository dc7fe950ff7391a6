"""Every metric for one reference/distorted pair of files: two images or two .y4m clips.

Keys are the registry's (``psnr-rgb``, ``ms-ssim-rgb`` ... as in result files), plus the optional
``pyiqa-*`` extras for images. Images: PNG (8/16-bit), JPEG, BMP ... via ``bench.data.load_image``;
bit depth from the dtype. Clips are read a frame at a time and scored like any clip with stored
planes (:func:`bench.metrics.sequence_metrics`): ``psnr-y`` and the YUV PSNRs on the stored planes,
the RGB metrics on frames converted with BT.601 (limited range unless the y4m says
``XCOLORRANGE=FULL``) and chroma upsampled by pixel repetition, rounded like a decoder's output;
each pooled as the registry says (the mean over frames, VMAF by libvmaf over the whole clip).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.colour import BT601_KB, BT601_KR
from bench.errors import DataError
from bench.image_header import DEFAULT_MAX_PIXELS, check_pixels
from bench.metrics import METRICS, VMAF_MODELS, MeanOfFrames, compute_metrics, metric_names, sequence_metrics
from bench.metrics.common import peak
from bench.metrics.iqa_extra import extra_metrics
from bench.metrics.lpips import MIN_SIDE as LPIPS_MIN_SIDE
from bench.metrics.msssim import MIN_SIDE as MSSSIM_MIN_SIDE
from bench.metrics.vmaf import IMAGE_MATRIX, vmaf_video
from bench.metrics.vmaf import MIN_SIDE as VMAF_MIN_SIDE

_CHROMA = ("psnr-yuv", "psnr-yuv-pooled")  # need chroma: not for gray images or mono clips
_MIN_SIDE = {
    "ms-ssim-rgb": MSSSIM_MIN_SIDE,
    "ms-ssim-rgb-db": MSSSIM_MIN_SIDE,
    "vmaf": VMAF_MIN_SIDE,
    "vmaf-neg": VMAF_MIN_SIDE,
    "lpips-alex": LPIPS_MIN_SIDE["alex"],
    "lpips-vgg": LPIPS_MIN_SIDE["vgg"],
}


def _load(path: Path) -> tuple[np.ndarray, int]:
    from bench.data import load_image

    img = load_image(path)
    if img.dtype not in (np.uint8, np.uint16):
        raise DataError(f"{path}: metrics need an integer image (8 or 16 bit), got {img.dtype}")
    return img, 8 if img.dtype == np.uint8 else 16


def _keys(h: int, w: int, wanted: list[str], notes: list[str]) -> list[str]:
    """Drop metrics the size cannot support (MS-SSIM's 5 scales, libvmaf), with a note each."""
    keep = []
    for key in wanted:
        need = _MIN_SIDE.get(key, 1)
        if min(h, w) >= need:
            keep.append(key)
        else:
            notes.append(f"{key} skipped: needs at least {need}x{need} pixels, got {w}x{h}")
    return keep


def _image_pair(ref_path: Path, dist_path: Path) -> dict:
    (ref, ref_depth), (dist, dist_depth) = _load(ref_path), _load(dist_path)
    if ref_depth != dist_depth or ref.shape != dist.shape:
        raise DataError(
            f"images differ: {ref_path.name} is {ref.shape[1]}x{ref.shape[0]}x"
            f"{ref.shape[2]} {ref_depth}-bit, {dist_path.name} is {dist.shape[1]}x"
            f"{dist.shape[0]}x{dist.shape[2]} {dist_depth}-bit"
        )
    h, w, c = ref.shape
    notes: list[str] = []
    keys = _keys(h, w, [k for k in metric_names("image") if c == 3 or k not in _CHROMA], notes)
    out: dict = compute_metrics(ref, dist, keys, bitdepth=ref_depth)
    out.update(extra_metrics(ref, dist, ref_depth))
    out["meta"] = {
        "kind": "image",
        "width": w,
        "height": h,
        "channels": c,
        "bitdepth": ref_depth,
        "vmaf_input": IMAGE_MATRIX,
        "notes": notes,
    }
    return out


def _to_rgb(planes: tuple[np.ndarray, ...], bitdepth: int, full_range: bool) -> np.ndarray:
    """Y'CbCr planes to a rounded H x W x 3 integer RGB frame (BT.601, nearest chroma)."""
    pk, s = peak(bitdepth), 2.0 ** (bitdepth - 8)
    h, w = planes[0].shape
    y = planes[0].astype(np.float64)
    y = y / pk if full_range else (y / s - 16) / 219
    if len(planes) == 1:
        rgb = np.repeat(y[..., None], 3, axis=2)
    else:

        def up(p: np.ndarray) -> np.ndarray:
            fy, fx = (2 if n < full else 1 for n, full in zip(p.shape, (h, w), strict=True))
            p = np.repeat(np.repeat(p, fy, 0), fx, 1)[:h, :w].astype(np.float64)
            return (p - 2 ** (bitdepth - 1)) / pk if full_range else (p / s - 128) / 224

        cb, cr = up(planes[1]), up(planes[2])
        r = y + 2 * (1 - BT601_KR) * cr
        b = y + 2 * (1 - BT601_KB) * cb
        g = (y - BT601_KR * r - BT601_KB * b) / (1 - BT601_KR - BT601_KB)
        rgb = np.stack([r, g, b], axis=2)
    return np.clip(np.rint(rgb * pk), 0, pk).astype(np.uint8 if bitdepth == 8 else np.uint16)


@dataclass(frozen=True)
class _Y4MFrame:
    """One y4m frame as a one-frame clip with stored planes (``bench.metrics.frames.StoredPlanes``)."""

    planes: tuple[np.ndarray, ...]  # each 1 x h x w
    chroma: str
    bitdepth: int
    range: str
    matrix: str = "bt601"

    def describe(self) -> dict[str, Any]:
        return {"chroma": self.chroma, "bitdepth": self.bitdepth, "range": self.range}

    def to_rgb(self) -> np.ndarray:
        return _to_rgb(tuple(p[0] for p in self.planes), self.bitdepth, self.range == "full")[None]


def _video_pair(ref_path: Path, dist_path: Path) -> dict:
    from bench.y4m import read_y4m_header, y4m_frames

    ref_h, dist_h = read_y4m_header(ref_path), read_y4m_header(dist_path)
    if ref_h.describe() != dist_h.describe():
        raise DataError(f"clips differ: {ref_path.name} is {ref_h.describe()}, {dist_path.name} is {dist_h.describe()}")
    if ref_h.n_frames == 0:
        raise DataError(f"{ref_path}: no frames")
    depth, full = ref_h.bitdepth, (ref_h.color_range or "").upper() == "FULL"
    notes: list[str] = [f"RGB metrics on BT.601 {'full' if full else 'limited'}-range RGB"]
    mono = ref_h.chroma == "mono"
    keys = _keys(ref_h.height, ref_h.width, [k for k in metric_names("video") if not (mono and k in _CHROMA)], notes)
    means = {k: p for k in keys if isinstance(p := METRICS.get(k).pooling, MeanOfFrames)}
    per_frame: dict[str, list[float]] = {k: [] for k in means}
    for ref_p, dist_p in zip(y4m_frames(ref_path), y4m_frames(dist_path), strict=True):
        ref_f, dist_f = (
            _Y4MFrame(tuple(p[None] for p in planes), ref_h.chroma, depth, "full" if full else "limited")
            for planes in (ref_p, dist_p)
        )
        for key, values in sequence_metrics(ref_f, dist_f, means, depth).per_frame.items():
            per_frame[key] += values
    pooled = {k: rule.pool(per_frame[k]) for k, rule in means.items()}
    # The whole-sequence metrics are libvmaf's, which reads the y4m files themselves in one call.
    out: dict = {
        k: pooled[k] if k in means else vmaf_video(ref_path, dist_path, model=VMAF_MODELS[k])["vmaf"] for k in keys
    }
    out["meta"] = {
        "kind": "video",
        "width": ref_h.width,
        "height": ref_h.height,
        "pix_fmt": ref_h.pix_fmt,
        "frames": ref_h.n_frames,
        "bitdepth": depth,
        "notes": notes,
    }
    return out


def metrics_for_pair(ref_path: Path, dist_path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict:
    """All metrics for two images or two .y4m clips, plus a ``meta`` dict describing the pair; an image
    (or frame) larger than ``max_pixels`` is refused from its header, before it is decoded."""
    ref_path, dist_path = Path(ref_path), Path(dist_path)
    for p in (ref_path, dist_path):
        if not p.is_file():
            raise DataError(f"file not found: {p}")
        check_pixels(p, max_pixels, "--max-pixels")
    videos = [p.suffix.lower() == ".y4m" for p in (ref_path, dist_path)]
    if videos[0] != videos[1]:
        raise DataError(f"cannot compare a clip with an image: {ref_path.name} vs {dist_path.name}")
    return _video_pair(ref_path, dist_path) if videos[0] else _image_pair(ref_path, dist_path)
