"""Sequence metrics on real x265 output: per-frame values, sequence means, one VMAF call per clip;
per-frame PSNRs against ffmpeg's psnr filter (through ffmpeg-quality-metrics)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from ffmpeg_quality_metrics import FfmpegQualityMetrics

from bench.codecs import CODECS
from bench.codecs.ffmpeg_tools import find_ffmpeg
from bench.errors import DataError
from bench.metrics import sequence_metrics
from bench.metrics.lpips import lpips_distance
from bench.metrics.msssim import ms_ssim_rgb
from bench.metrics.psnr import plane_psnr, psnr_rgb, psnr_y, psnr_yuv_planes, psnr_yuv_pooled, psnr_yuv_pooled_planes
from bench.metrics.vmaf import vmaf_video
from bench.registry import UnknownNameError
from bench.video import read_video, write_y4m
from bench.video.clip import Clip
from bench.y4m import write_y4m as write_planes_y4m

T = 4


@pytest.fixture(scope="module")
def clip(data_dir: Path) -> Clip:
    """4 frames of park_joy, 176x176 (MS-SSIM needs 161 px), 4:2:0 8-bit."""
    return read_video(data_dir / "video" / "park_joy_420_720p50_frm0to9_480x270.y4m", frames=T).crop(40, 120, 176, 176)


def coded(clip: Clip, qp: int, chroma: str = "420") -> Clip:
    planes = clip.planes[:1] if chroma == "400" else clip.planes
    res = CODECS.build("x265", chroma=chroma, preset="veryfast").encode(planes, qp, 8, clip.fps)
    return replace(clip, planes=res.decoded, chroma=chroma)


@pytest.fixture(scope="module")
def decoded(clip: Clip) -> Clip:
    return coded(clip, 34)


def test_psnr_per_frame_and_per_sequence(clip: Clip, decoded: Clip) -> None:
    s = sequence_metrics(clip, decoded, ["psnr-y", "psnr-yuv", "psnr-yuv-pooled", "psnr-rgb"])
    want_y = [plane_psnr(a, b) for a, b in zip(clip.planes[0], decoded.planes[0], strict=True)]
    want_yuv = [
        psnr_yuv_planes([p[t] for p in clip.planes], [p[t] for p in decoded.planes]) for t in range(T)
    ]  # 4:2:0 chroma at its own resolution
    assert s.per_frame["psnr-y"] == pytest.approx(want_y, abs=1e-12)
    assert s.per_frame["psnr-yuv"] == pytest.approx(want_yuv, abs=1e-12)
    pooled = [psnr_yuv_pooled_planes([p[t] for p in clip.planes], [p[t] for p in decoded.planes]) for t in range(T)]
    assert s.per_frame["psnr-yuv-pooled"] == pytest.approx(pooled, abs=1e-12)
    assert s.pooled["psnr-y"] == pytest.approx(np.mean(want_y), abs=1e-12)
    ref_rgb, dist_rgb = clip.to_rgb(), decoded.to_rgb()
    assert s.per_frame["psnr-rgb"][2] == pytest.approx(psnr_rgb(ref_rgb[2], dist_rgb[2]), abs=1e-12)
    assert 28 < s.pooled["psnr-y"] < 40 and len(set(want_y)) == T
    same = sequence_metrics(clip, clip, ["psnr-y"])
    assert same.pooled["psnr-y"] == np.inf


def ffmpeg_psnr(ref: Clip, dist: Clip, tmp: Path) -> list[dict[str, float]]:
    """ffmpeg's psnr filter, frame by frame, via ffmpeg-quality-metrics on the bundled ffmpeg."""
    write_y4m(tmp / "ref.y4m", ref)
    write_y4m(tmp / "dist.y4m", dist)
    fqm = FfmpegQualityMetrics(
        str(tmp / "ref.y4m"), str(tmp / "dist.y4m"), tmp_dir=str(tmp), ffmpeg_path=str(find_ffmpeg())
    )
    return fqm.calculate(["psnr"])["psnr"]


@pytest.fixture(scope="module")
def x265_8bit(clip: Clip, decoded: Clip) -> tuple[Clip, Clip]:
    return clip, decoded


@pytest.fixture(scope="module")
def netflix_10bit(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Clip, Clip]:
    """Netflix's src01 reference and its distorted hrc01 (576x324 10-bit 4:2:0, 3 frames) as clips."""
    w, h, folder = 576, 324, tmp_path_factory.mktemp("netflix")
    clips = []
    for hrc in ("hrc00", "hrc01"):
        raw = np.fromfile(data_dir / "reference" / "vmaf" / f"src01_{hrc}_576x324.yuv420p10le.yuv", "<u2")
        frames = [(f[: w * h].reshape(h, w), *f[w * h :].reshape(2, h // 2, w // 2)) for f in raw.reshape(3, -1)]
        write_planes_y4m(folder / f"{hrc}.y4m", frames, bitdepth=10)
        clips.append(read_video(folder / f"{hrc}.y4m"))
    return clips[0], clips[1]


@pytest.mark.parametrize("pair", ["x265_8bit", "netflix_10bit"])
def test_psnrs_match_ffmpegs_psnr_filter_per_frame(request: pytest.FixtureRequest, pair: str, tmp_path: Path) -> None:
    """psnr-y, psnr-yuv (6:1:1 of ffmpeg's plane PSNRs) and psnr-yuv-pooled (ffmpeg's "average": the
    MSE pooled over all samples), frame by frame; ffmpeg prints 2 decimals, so 0.006 dB is its rounding
    (a 10-bit peak of 1024 instead of 1023 would be 0.0085 dB off)."""
    ref, dist = request.getfixturevalue(pair)
    s = sequence_metrics(ref, dist, ["psnr-y", "psnr-yuv", "psnr-yuv-pooled"])
    ff = ffmpeg_psnr(ref, dist, tmp_path)
    n = ref.planes[0].shape[0]
    assert len(ff) == len(s.per_frame["psnr-y"]) == n and len(set(s.per_frame["psnr-y"])) == n
    assert s.per_frame["psnr-y"] == pytest.approx([f["psnr_y"] for f in ff], abs=6e-3)
    yuv = [(6 * f["psnr_y"] + f["psnr_u"] + f["psnr_v"]) / 8 for f in ff]
    assert s.per_frame["psnr-yuv"] == pytest.approx(yuv, abs=6e-3)
    assert s.per_frame["psnr-yuv-pooled"] == pytest.approx([f["psnr_avg"] for f in ff], abs=6e-3)
    assert s.pooled["psnr-y"] == pytest.approx(np.mean([f["psnr_y"] for f in ff]), abs=6e-3)


@pytest.mark.slow  # LPIPS and MS-SSIM on every frame
def test_rgb_arrays_take_the_image_conventions(clip: Clip, decoded: Clip) -> None:
    ref, dist = clip.take(2).to_rgb(), decoded.take(2).to_rgb()
    s = sequence_metrics(ref, dist, ["psnr-y", "psnr-yuv-pooled", "ms-ssim-rgb", "lpips-alex"])
    assert s.per_frame["psnr-y"][1] == pytest.approx(psnr_y(ref[1], dist[1]), abs=1e-12)
    assert s.per_frame["psnr-yuv-pooled"][1] == pytest.approx(psnr_yuv_pooled(ref[1], dist[1]), abs=1e-12)
    assert s.per_frame["ms-ssim-rgb"][1] == pytest.approx(ms_ssim_rgb(ref[1], dist[1]), abs=1e-9)
    lp = [lpips_distance(a, b, "alex") for a, b in zip(ref, dist, strict=True)]
    assert s.per_frame["lpips-alex"] == pytest.approx(lp, abs=1e-6)
    assert s.pooled["lpips-alex"] == pytest.approx(np.mean(lp), abs=1e-6)
    assert 0.8 < s.pooled["ms-ssim-rgb"] < 1 and 0 < s.pooled["lpips-alex"] < 0.5


def test_vmaf_is_one_call_over_the_sequence(clip: Clip, decoded: Clip, tmp_path: Path) -> None:
    s = sequence_metrics(clip, decoded, ["vmaf", "vmaf-neg"], n_threads=2)
    write_y4m(tmp_path / "ref.y4m", clip)
    write_y4m(tmp_path / "dist.y4m", decoded)
    direct = vmaf_video(tmp_path / "ref.y4m", tmp_path / "dist.y4m", n_threads=2)
    assert s.pooled["vmaf"] == pytest.approx(direct["vmaf"], abs=1e-6)
    assert s.per_frame["vmaf"] == pytest.approx(direct["frames"], abs=1e-6) and len(direct["frames"]) == T
    assert s.pooled["vmaf-neg"] <= s.pooled["vmaf"] + 1e-9
    worse = sequence_metrics(clip, coded(clip, 44), ["vmaf"], n_threads=2)
    assert worse.pooled["vmaf"] < s.pooled["vmaf"] - 10


def test_gray_clips_score_their_luma(clip: Clip) -> None:
    gray = replace(clip, planes=clip.planes[:1], chroma="400")
    dist = coded(clip, 34, chroma="400")
    s = sequence_metrics(gray, dist, ["psnr-y", "vmaf"], n_threads=2)
    mid = replace(dist, planes=(dist.planes[0], *clip.planes[1:]), chroma="420")
    as420 = sequence_metrics(clip, mid, ["vmaf"], n_threads=2)
    assert s.pooled["vmaf"] == pytest.approx(as420.pooled["vmaf"], abs=1e-6)  # chroma ignored
    with pytest.raises(DataError, match="4:0:0 clip has psnr-y only"):
        sequence_metrics(gray, dist, ["psnr-yuv"])


def test_mismatches_are_refused(clip: Clip, decoded: Clip) -> None:
    with pytest.raises(DataError, match="differ"):
        sequence_metrics(clip, decoded.take(3), ["psnr-y"])
    with pytest.raises(DataError, match="differ"):
        sequence_metrics(clip, replace(decoded, range="full"), ["psnr-y"])
    with pytest.raises(DataError, match="not one with the other"):
        sequence_metrics(clip, decoded.to_rgb(), ["psnr-y"])
    with pytest.raises(UnknownNameError, match="unknown metric 'ssim'; choose from: lpips-alex"):
        sequence_metrics(clip, decoded, ["psnr-y", "ssim"])
    with pytest.raises(DataError, match="differ in shape"):
        sequence_metrics(clip.to_rgb(), decoded.to_rgb()[:, :8], ["psnr-y"])
