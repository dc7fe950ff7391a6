"""Every metric for one reference/distorted pair of files: two images or two .y4m clips.

Images: PNG (8/16-bit), JPEG, BMP ... via ``bench.data.load_image``; bit depth from the dtype.
Clips: per-frame PSNR / MS-SSIM / LPIPS averaged over frames, VMAF over the whole clip in one
libvmaf call per model. ``psnr_y`` and ``psnr_yuv`` use the stored planes; the RGB metrics use
frames converted with BT.601 (limited range unless the y4m says ``XCOLORRANGE=FULL``) and
chroma upsampled by pixel repetition, rounded like a decoder's output.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.colour import BT601_KB, BT601_KR
from bench.errors import DataError
from bench.image_header import DEFAULT_MAX_PIXELS, check_pixels
from bench.metrics import compute_metrics
from bench.metrics.common import peak
from bench.metrics.iqa_extra import extra_metrics
from bench.metrics.lpips import MIN_SIDE as LPIPS_MIN_SIDE
from bench.metrics.msssim import MIN_SIDE as MSSSIM_MIN_SIDE
from bench.metrics.psnr import plane_psnr, psnr_yuv_planes
from bench.metrics.vmaf import IMAGE_MATRIX, vmaf_video
from bench.metrics.vmaf import MIN_SIDE as VMAF_MIN_SIDE

# CLI key -> registry key, for the RGB image metrics computed per image or per frame.
CLI_KEYS = {"psnr_rgb": "psnr-rgb", "psnr_y": "psnr-y", "psnr_yuv": "psnr-yuv",
            "ms_ssim": "ms-ssim-rgb", "lpips_alex": "lpips-alex", "lpips_vgg": "lpips-vgg",
            "vmaf": "vmaf", "vmaf_neg": "vmaf-neg"}
_PER_FRAME = ("psnr_rgb", "ms_ssim", "lpips_alex", "lpips_vgg")
_VMAF_MODELS = {"vmaf": "vmaf_v0.6.1", "vmaf_neg": "vmaf_v0.6.1neg"}
_MIN_SIDE = {"ms_ssim": MSSSIM_MIN_SIDE, "vmaf": VMAF_MIN_SIDE, "vmaf_neg": VMAF_MIN_SIDE,
             "lpips_alex": LPIPS_MIN_SIDE["alex"], "lpips_vgg": LPIPS_MIN_SIDE["vgg"]}


def _load(path: Path) -> tuple[np.ndarray, int]:
    from bench.data import load_image

    img = load_image(path)
    if img.dtype not in (np.uint8, np.uint16):
        raise DataError(f"{path}: metrics need an integer image (8 or 16 bit), got {img.dtype}")
    return img, 8 if img.dtype == np.uint8 else 16


def _keys(h: int, w: int, wanted: tuple[str, ...], notes: list[str]) -> list[str]:
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
        raise DataError(f"images differ: {ref_path.name} is {ref.shape[1]}x{ref.shape[0]}x"
                        f"{ref.shape[2]} {ref_depth}-bit, {dist_path.name} is {dist.shape[1]}x"
                        f"{dist.shape[0]}x{dist.shape[2]} {dist_depth}-bit")
    h, w, c = ref.shape
    notes: list[str] = []
    wanted = tuple(CLI_KEYS) if c == 3 else tuple(k for k in CLI_KEYS if k != "psnr_yuv")
    keys = _keys(h, w, wanted, notes)
    values = compute_metrics(ref, dist, [CLI_KEYS[k] for k in keys], bitdepth=ref_depth)
    out: dict = {k: values[CLI_KEYS[k]] for k in keys}
    out.update(extra_metrics(ref, dist, ref_depth))
    out["meta"] = {"kind": "image", "width": w, "height": h, "channels": c,
                   "bitdepth": ref_depth, "vmaf_input": IMAGE_MATRIX, "notes": notes}
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


def _video_pair(ref_path: Path, dist_path: Path) -> dict:
    from bench.y4m import read_y4m_header, y4m_frames

    ref_h, dist_h = read_y4m_header(ref_path), read_y4m_header(dist_path)
    if ref_h.describe() != dist_h.describe():
        raise DataError(f"clips differ: {ref_path.name} is {ref_h.describe()}, "
                        f"{dist_path.name} is {dist_h.describe()}")
    if ref_h.n_frames == 0:
        raise DataError(f"{ref_path}: no frames")
    depth, full = ref_h.bitdepth, (ref_h.color_range or "").upper() == "FULL"
    notes: list[str] = [f"RGB metrics on BT.601 {'full' if full else 'limited'}-range RGB"]
    keys = _keys(ref_h.height, ref_h.width, _PER_FRAME + tuple(_VMAF_MODELS), notes)
    vmafs = [k for k in keys if k in _VMAF_MODELS]
    keys = [k for k in keys if k not in _VMAF_MODELS]
    mono = ref_h.chroma == "mono"
    sums = dict.fromkeys(keys + ["psnr_y"] + ([] if mono else ["psnr_yuv"]), 0.0)
    for ref_p, dist_p in zip(y4m_frames(ref_path), y4m_frames(dist_path), strict=True):
        ref_rgb, dist_rgb = _to_rgb(ref_p, depth, full), _to_rgb(dist_p, depth, full)
        values = compute_metrics(ref_rgb, dist_rgb, [CLI_KEYS[k] for k in keys], depth)
        for k in keys:
            sums[k] += values[CLI_KEYS[k]]
        sums["psnr_y"] += plane_psnr(ref_p[0], dist_p[0], depth)
        if not mono:
            sums["psnr_yuv"] += psnr_yuv_planes(ref_p, dist_p, depth)
    out: dict = {k: sums[k] / ref_h.n_frames for k in CLI_KEYS if k in sums}
    for key in vmafs:
        out[key] = vmaf_video(ref_path, dist_path, model=_VMAF_MODELS[key])["vmaf"]
    out["meta"] = {"kind": "video", "width": ref_h.width, "height": ref_h.height,
                   "pix_fmt": ref_h.pix_fmt, "frames": ref_h.n_frames, "bitdepth": depth,
                   "notes": notes}
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
