"""PSNR against hand-derived values, skimage/OpenCV conversions and ffmpeg's psnr filter."""

from __future__ import annotations

import math
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage.color import rgb2yuv
from skimage.metrics import peak_signal_noise_ratio

from bench.codecs.ffmpeg_tools import run_ffmpeg
from bench.colour import BT601_LUMA_PRINTED
from bench.errors import DataError
from bench.metrics.psnr import psnr_rgb, psnr_y, psnr_yuv, psnr_yuv_planes, psnr_yuv_pooled, psnr_yuv_pooled_planes


@pytest.fixture(scope="module")
def pair(kodim) -> tuple[np.ndarray, np.ndarray]:
    ref = kodim(23, crop=(192, 256))
    noise = np.random.default_rng(0).normal(0, 6, ref.shape)
    return ref, np.clip(np.rint(ref + noise), 0, 255).astype(np.uint8)


def test_unit_error_gives_closed_form(kodim) -> None:
    ref = kodim(5, crop=(64, 64)).clip(0, 254)
    assert psnr_rgb(ref, ref + 1) == pytest.approx(20 * math.log10(255), abs=1e-12)


def test_16bit_ldr_saturation_line() -> None:
    """METHOD §6: dropping 8 LSBs of 16-bit data, midpoint reconstruction, gives ~58.96 dB."""
    img = np.random.default_rng(1).integers(0, 65536, (256, 256, 3), dtype=np.uint16)
    assert psnr_rgb(img, (img >> 8 << 8) + 128, bitdepth=16) == pytest.approx(58.96, abs=0.01)


def test_identical_images_are_inf_everywhere(pair) -> None:
    ref, _ = pair
    assert psnr_rgb(ref, ref) == psnr_y(ref, ref) == psnr_yuv(ref, ref) == math.inf


def test_psnr_y_matches_skimage_luma(pair) -> None:
    ref, dist = pair
    y_ref, y_dist = rgb2yuv(ref)[..., 0], rgb2yuv(dist)[..., 0]
    assert psnr_y(ref, dist) == pytest.approx(peak_signal_noise_ratio(y_ref, y_dist, data_range=1.0), abs=1e-9)


def test_psnr_yuv_matches_opencv_ycrcb(pair) -> None:
    ref, dist = pair
    planes = [cv2.cvtColor(im.astype(np.float32) / 255, cv2.COLOR_RGB2YCrCb) * 255 for im in (ref, dist)]
    y, cr, cb = (
        peak_signal_noise_ratio(
            planes[0][..., i].astype(np.float64), planes[1][..., i].astype(np.float64), data_range=255
        )
        for i in range(3)
    )
    # OpenCV rounds the chroma scales to 0.564/0.713 (~4e-4 relative): ~1e-3 dB here. A wrong
    # matrix is far off (BT.709 gives 35.38 vs 36.19 dB on this pair).
    assert psnr_yuv(ref, dist) == pytest.approx((6 * y + cb + cr) / 8, abs=5e-3)


def test_psnr_yuv_planes_match_ffmpeg_psnr_filter(data_dir: Path, tmp_path: Path) -> None:
    """Raw 4:2:0 planes (foreman frames 1 vs 0) against ffmpeg's per-plane PSNR."""
    w, h = 176, 144
    raw = (data_dir / "video" / "foreman_176x144_30fps.yuv").read_bytes()
    size = w * h * 3 // 2
    frames = [np.frombuffer(raw[i * size : (i + 1) * size], np.uint8) for i in (0, 1)]
    for i, f in enumerate(frames):
        (tmp_path / f"{i}.yuv").write_bytes(f.tobytes())
    raw_in = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{w}x{h}", "-i"]
    proc = run_ffmpeg(
        [*raw_in, str(tmp_path / "1.yuv"), *raw_in, str(tmp_path / "0.yuv"), "-lavfi", "psnr", "-f", "null", "-"],
        what="psnr",
        param="foreman",
    )
    m = re.search(rb"PSNR y:([\d.]+) u:([\d.]+) v:([\d.]+) average:([\d.]+)", proc.stderr)
    assert m, proc.stderr[-500:]
    y, u, v, average = map(float, m.groups())

    def planes(f: np.ndarray) -> list[np.ndarray]:
        return [
            f[: w * h].reshape(h, w),
            f[w * h : w * h * 5 // 4].reshape(h // 2, w // 2),
            f[w * h * 5 // 4 :].reshape(h // 2, w // 2),
        ]

    assert psnr_yuv_planes(planes(frames[0]), planes(frames[1])) == pytest.approx((6 * y + u + v) / 8, abs=1e-5)
    # ffmpeg's "average" pools the squared error over every sample of the three planes
    assert psnr_yuv_pooled_planes(planes(frames[0]), planes(frames[1])) == pytest.approx(average, abs=1e-5)


def test_pooled_and_weighted_yuv_psnr_part_on_a_luma_only_decode(pair) -> None:
    """Gray (luma kept, chroma at mid-grey) scores high on the 6:1:1 mean of plane PSNRs and low on
    the pooled MSE; a decode off in every plane alike scores about the same on both."""
    ref, dist = pair
    luma = np.rint(ref.astype(np.float64) @ BT601_LUMA_PRINTED)
    gray = np.repeat(luma[..., None], 3, axis=2).astype(np.uint8)
    assert psnr_yuv(ref, gray) - psnr_yuv_pooled(ref, gray) > 3
    assert psnr_yuv_pooled(ref, dist) == pytest.approx(psnr_yuv(ref, dist), abs=2.0)
    assert psnr_yuv_pooled(ref, ref) == math.inf


def test_bad_inputs_raise_clear_errors(pair) -> None:
    ref, dist = pair
    with pytest.raises(DataError, match="differ in shape"):
        psnr_rgb(ref, dist[:-1])
    with pytest.raises(DataError, match="must be uint16"):
        psnr_rgb(ref, dist, bitdepth=10)
    with pytest.raises(DataError, match="exceeds 10-bit peak 1023"):
        psnr_rgb(ref.astype(np.uint16) * 5, dist.astype(np.uint16), bitdepth=10)
    with pytest.raises(DataError, match="must be uint8"):
        psnr_rgb(ref.astype(np.float32), dist.astype(np.float32))
    with pytest.raises(DataError, match="3 channels"):
        psnr_yuv(ref[..., :1], dist[..., :1])
