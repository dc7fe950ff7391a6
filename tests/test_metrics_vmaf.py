"""VMAF (ffmpeg-quality-metrics on the bundled ffmpeg's libvmaf) against the Netflix test-suite
values and the per-frame scores of the libvmaf filtergraph it replaced, plus behaviour on images.

Oracle: reference/vmaf/expected.json (Netflix vmaf python/test/vmafexec_test.py).
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.errors import BenchError, DataError
from bench.metrics.vmaf import vmaf_image, vmaf_video
from bench.y4m import write_y4m, y4m_frames

# The bundled libvmaf (86da14d, 2026) has the motion-filter edge-mirroring fix (Netflix/vmaf
# PR #1531/#1537), which moves motion2 from 2.81046 to 2.80955 on src01 and the pooled VMAF by
# 0.0010033; ADM and VIF still agree. Every other case is within 7e-5.
PARK_JOY = "park_joy_420_720p50_frm0to9_480x270.y4m"
TOLERANCE = {"src01_hrc01_576x324.yuv420p10le.yuv": 1.5e-3}
# Per-frame scores of each expected.json case from our own libvmaf filtergraph (built-in models, JSON
# log) before ffmpeg-quality-metrics took over; its model JSONs give the same scores to the printed digit.
FRAMES_BEFORE = [
    [83.856284, 82.639805, 81.196591],
    [97.428478, 100.0, 100.0],
    [96.810731, 97.743088, 97.865345, 98.496271, 98.587705],
    [97.428308, 98.505319, 98.519655, 98.952602, 98.952585],
    [88.030464],
]


def _cases(data_dir: Path) -> list[dict]:
    return json.loads((data_dir / "reference" / "vmaf" / "expected.json").read_text())["cases"]


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


@pytest.mark.parametrize("index", range(5))
def test_netflix_pairs_match_expected(data_dir: Path, index: int) -> None:
    case = _cases(data_dir)[index]
    root = data_dir / "reference" / "vmaf"
    got = vmaf_video(
        root / case["reference"],
        root / case["distorted"],
        width=case["width"],
        height=case["height"],
        pix_fmt=case["pix_fmt"],
        model=case["model"],
        n_threads=2,
    )
    assert got["n_frames"] == case["frames"] and got["model"] == case["model"]
    assert got["vmaf"] == pytest.approx(case["vmaf"], abs=TOLERANCE.get(case["distorted"], 1e-3))
    assert got["vmaf"] == pytest.approx(float(np.mean(got["frames"])), abs=1e-12)
    assert got["frames"] == pytest.approx(FRAMES_BEFORE[index], abs=1e-6)


def test_order_is_distorted_then_reference(data_dir: Path) -> None:
    """Swapping the inputs changes the score (motion is measured on the reference only)."""
    root = data_dir / "reference" / "vmaf"
    ref, dis = root / "sparks_ref_480x270.yuv42010le.yuv", root / "sparks_dis_480x270.yuv42010le.yuv"
    kw = {"width": 480, "height": 270, "pix_fmt": "yuv420p10le"}
    assert abs(vmaf_video(ref, dis, **kw)["vmaf"] - vmaf_video(dis, ref, **kw)["vmaf"]) > 1e-3


@pytest.mark.parametrize("model", ["vmaf_v0.6.1", "vmaf_v0.6.1neg"])
def test_image_vmaf_falls_with_jpeg_quality(kodim, model: str) -> None:
    ref = kodim(23, crop=(192, 256))
    scores = [vmaf_image(ref, _jpeg(ref, q), model=model) for q in (90, 70, 50, 30, 10)]
    assert all(a > b for a, b in itertools.pairwise(scores))
    # One still frame has motion 0, so a perfect copy scores ~97.43, never 100 (see vmaf.py).
    assert 97.4 <= vmaf_image(ref, ref, model=model) <= 97.5 and scores[0] < 97.4


def test_high_bit_depth_and_gray_images(kodim) -> None:
    ref = kodim(23, crop=(192, 256))
    dist = _jpeg(ref, 30)
    base = vmaf_image(ref, dist)
    assert vmaf_image(ref.astype(np.uint16) * 257, dist.astype(np.uint16) * 257, 16) == pytest.approx(base, abs=0.5)
    gray, gray_d = ref[..., :1], dist[..., :1]
    assert vmaf_image(gray, gray_d) == pytest.approx(
        vmaf_image(np.repeat(gray, 3, 2), np.repeat(gray_d, 3, 2)), abs=1e-6
    )


def test_mono_y4m_scores_like_its_luma_in_420(data_dir: Path, tmp_path: Path) -> None:
    src = data_dir / "video" / PARK_JOY
    frames = [f for _, f in zip(range(3), y4m_frames(src), strict=False)]
    rng = np.random.default_rng(0)
    noisy = [tuple(np.clip(p + rng.integers(-6, 7, p.shape), 0, 255).astype(np.uint8) for p in f) for f in frames]
    for name, clip, chroma in (
        ("ref420", frames, "420"),
        ("dis420", noisy, "420"),
        ("refmono", [f[:1] for f in frames], "mono"),
        ("dismono", [f[:1] for f in noisy], "mono"),
    ):
        write_y4m(tmp_path / f"{name}.y4m", clip, chroma=chroma)
    full = vmaf_video(tmp_path / "ref420.y4m", tmp_path / "dis420.y4m")
    mono = vmaf_video(tmp_path / "refmono.y4m", tmp_path / "dismono.y4m")
    assert full["n_frames"] == mono["n_frames"] == 3
    assert mono["vmaf"] == pytest.approx(full["vmaf"], abs=1e-6) and full["vmaf"] < 99
    # The scores the replaced libvmaf filtergraph gave on this pair (NEG model; range FULL passed through).
    neg = vmaf_video(tmp_path / "refmono.y4m", tmp_path / "dismono.y4m", model="vmaf_v0.6.1neg")
    assert neg["frames"] == pytest.approx([91.511904, 100.0, 100.0], abs=1e-6)
    for name, clip in (("reffull", frames), ("disfull", noisy)):
        write_y4m(tmp_path / f"{name}.y4m", clip, color_range="FULL")
    assert vmaf_video(tmp_path / "reffull.y4m", tmp_path / "disfull.y4m")["frames"] == pytest.approx(
        [93.358888, 100.0, 100.0], abs=1e-6
    )


def test_file_names_stay_out_of_ffmpegs_arguments(data_dir: Path, tmp_path: Path, caplog) -> None:
    """A name ffmpeg would read as a protocol or break a filtergraph on scores like a plain one, and the
    package's warning about imageio-ffmpeg having no ffprobe is not printed on every call."""
    src = data_dir / "video" / PARK_JOY
    odd = tmp_path / "clip:1 'a'.y4m"
    shutil.copy(src, odd)
    with caplog.at_level(logging.WARNING, logger="ffmpeg-quality-metrics"):
        assert vmaf_video(src, odd)["frames"] == vmaf_video(src, src)["frames"]
    assert not [r for r in caplog.records if r.name == "ffmpeg-quality-metrics"]


def test_mismatches_raise_clear_errors(kodim, data_dir: Path, tmp_path: Path) -> None:
    ref = kodim(23, crop=(192, 256))
    with pytest.raises(DataError, match="differ in shape"):
        vmaf_image(ref, ref[:, :-2])
    with pytest.raises(DataError, match="at least 17x17 pixels, got 64x16"):
        vmaf_image(ref[:16, :64], ref[:16, :64])  # the bundled libvmaf would segfault
    with pytest.raises(BenchError, match="choose from: vmaf_v0.6.1, vmaf_v0.6.1neg"):
        vmaf_image(ref, ref, model="vmaf_4k")
    clip = data_dir / "reference" / "vmaf" / "src01_hrc00_576x324.yuv420p10le.yuv"
    two = tmp_path / "two_frames.yuv"
    two.write_bytes(clip.read_bytes()[: 2 * 576 * 324 * 3])  # 2 of 3 frames (10-bit 4:2:0)
    kw = {"width": 576, "height": 324, "pix_fmt": "yuv420p10le"}
    with pytest.raises(DataError, match="3 frames.*2 frames"):
        vmaf_video(clip, two, **kw)
    with pytest.raises(DataError, match="not a whole number"):
        vmaf_video(clip, clip, width=576, height=320, pix_fmt="yuv420p10le")
    with pytest.raises(DataError, match="not one libvmaf takes"):
        vmaf_video(clip, clip, width=576, height=324, pix_fmt="gray16le")
    frames = [f for _, f in zip(range(2), y4m_frames(data_dir / "video" / PARK_JOY), strict=False)]
    for rng in ("LIMITED", "FULL"):
        write_y4m(tmp_path / f"{rng}.y4m", frames, color_range=rng)
    with pytest.raises(DataError, match="range LIMITED\\) and distorted .*2 frames, range FULL"):
        vmaf_video(tmp_path / "LIMITED.y4m", tmp_path / "FULL.y4m")
