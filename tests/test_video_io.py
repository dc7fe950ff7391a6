"""Video I/O: byte-exact y4m / raw .yuv round trips, name parsing, PNG folders, colour facts."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from bench.codecs import planes as pl
from bench.codecs.ffmpeg_tools import run_ffmpeg
from bench.colour import rgb_to_jfif, rgb_to_ycbcr, ycbcr_to_rgb
from bench.errors import DataError
from bench.video import (
    clip_from_rgb,
    parse_yuv_name,
    read_png_frames,
    read_video,
    read_y4m,
    read_yuv,
    write_png_frames,
    write_y4m,
    write_yuv,
    yuv_name,
)
from bench.video.clip import Clip, plane_shapes

PARK_JOY = "park_joy_420_720p50_frm0to9_480x270.y4m"
BASKETBALL = "BasketballPass_416x240_100f"


def test_y4m_round_trip_is_byte_exact(data_dir: Path, tmp_path: Path) -> None:
    src = data_dir / "video" / PARK_JOY
    clip = read_y4m(src)
    assert (clip.width, clip.height, clip.n_frames, clip.fps, clip.pix_fmt) == (480, 270, 10, Fraction(50), "yuv420p")
    assert clip.range == "limited" and "XCOLORRANGE=LIMITED" in clip.colour_source
    assert "matrix: bt601 assumed" in clip.colour_source
    write_y4m(tmp_path / "out.y4m", clip)
    assert (tmp_path / "out.y4m").read_bytes() == src.read_bytes()


def test_y4m_header_follows_a_changed_clip(data_dir: Path, tmp_path: Path) -> None:
    clip = read_y4m(data_dir / "video" / PARK_JOY, frames=2)
    y = clip.planes[0]
    mono = replace(clip, planes=(y.astype(np.uint16) * 4 + 3,), chroma="400", bitdepth=10, range="full")
    write_y4m(tmp_path / "m.y4m", mono)
    header = (tmp_path / "m.y4m").read_bytes().split(b"\n", 1)[0].decode()
    assert header == "YUV4MPEG2 W480 H270 F50:1 Ip A1:1 Cmono10 XCOLORRANGE=FULL"
    back = read_y4m(tmp_path / "m.y4m")
    assert back.range == "full" and np.array_equal(back.planes[0], mono.planes[0])


@pytest.mark.parametrize("chroma,bitdepth", [("444", 10), ("400", 8), ("420", 10)])
def test_written_clips_read_back_and_ffmpeg_agrees(tmp_path: Path, chroma: str, bitdepth: int) -> None:
    rng = np.random.default_rng(bitdepth)
    dtype = np.uint8 if bitdepth == 8 else np.uint16
    planes = tuple(rng.integers(0, 2**bitdepth, (3, *s)).astype(dtype) for s in plane_shapes(22, 34, chroma))
    clip = Clip(planes, chroma, bitdepth, Fraction(30000, 1001))
    write_y4m(tmp_path / "c.y4m", clip)
    back = read_y4m(tmp_path / "c.y4m")
    assert back.fps == Fraction(30000, 1001) and back.pix_fmt == clip.pix_fmt
    assert all(np.array_equal(a, b) for a, b in zip(planes, back.planes, strict=True))
    write_yuv(tmp_path / "c.yuv", back)
    ffmpeg = run_ffmpeg(
        ["-i", str(tmp_path / "c.y4m"), "-f", "rawvideo", "-pix_fmt", clip.pix_fmt, "-"], what="y4m", param=chroma
    ).stdout
    assert ffmpeg == (tmp_path / "c.yuv").read_bytes()


@pytest.mark.parametrize("name,fps", [("foreman_176x144_30fps.yuv", None), ("sparks_480x270_10bit.yuv", 60)])
def test_raw_yuv_round_trip_is_byte_exact(data_dir: Path, tmp_path: Path, name: str, fps) -> None:
    src = data_dir / "video" / name
    clip = read_video(src, fps=fps)
    assert clip.chroma == "420" and "assumed" in clip.colour_source
    out = tmp_path / yuv_name("copy", clip)
    write_yuv(out, clip)
    assert out.read_bytes() == src.read_bytes()
    again = read_yuv(out)  # the written name carries the geometry back
    assert (again.width, again.height, again.fps, again.bitdepth) == (clip.width, clip.height, clip.fps, clip.bitdepth)


def test_ten_bit_values_are_kept(data_dir: Path) -> None:
    clip = read_video(data_dir / "video" / "sparks_480x270_10bit.yuv", fps=60, start=1, frames=2)
    y = clip.planes[0]
    assert clip.bitdepth == 10 and y.dtype == np.uint16 and clip.n_frames == 2
    assert y.max() > 255 and np.mean(y % 4 != 0) > 0.5
    whole = read_video(data_dir / "video" / "sparks_480x270_10bit.yuv", fps=60)
    assert np.array_equal(whole.planes[2][1:3], clip.planes[2])


@pytest.mark.parametrize(
    "name,expected",
    [
        ("foreman_176x144_30fps.yuv", (176, 144, Fraction(30), None, None)),
        ("BasketballPass_416x240_50.yuv", (416, 240, Fraction(50), None, None)),
        ("sparks_480x270_10bit.yuv", (480, 270, None, 10, None)),
        ("a_64x32_29.97fps_10bit.yuv", (64, 32, Fraction(30000, 1001), 10, None)),
        ("src01_hrc00_576x324.yuv420p10le.yuv", (576, 324, None, 10, "420")),
        ("x_8x8_25fps.gray.yuv", (8, 8, Fraction(25), 8, "400")),
    ],
)
def test_yuv_names(name: str, expected) -> None:
    got = parse_yuv_name(Path(name))
    assert (got.width, got.height, got.fps, got.bitdepth, got.chroma) == expected


def test_raw_errors(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read the size"):
        parse_yuv_name(Path("clip.yuv"))
    with pytest.raises(DataError, match="no frame rate"):
        read_video(data_dir / "video" / "sparks_480x270_10bit.yuv")
    with pytest.raises(DataError, match="not a whole number"):
        read_yuv(data_dir / "video" / "foreman_176x144_30fps.yuv", width=170)
    with pytest.raises(DataError, match="file has 10"):
        read_video(data_dir / "video" / "foreman_176x144_30fps.yuv", start=8, frames=3)
    bad = tmp_path / "b_4x2_25fps_10bit.gray.yuv"
    bad.write_bytes(np.full(8, 4095, "<u2").tobytes())
    with pytest.raises(DataError, match="exceed 10 bits"):
        read_yuv(bad)


def test_png_frames_round_trip(data_dir: Path, tmp_path: Path) -> None:
    rgb = read_png_frames(data_dir / "video" / BASKETBALL, start=5, frames=3)
    assert rgb.shape == (3, 240, 416, 3) and rgb.dtype == np.uint8
    write_png_frames(tmp_path / "f", rgb)
    assert np.array_equal(read_png_frames(tmp_path / "f"), rgb)
    deep = rgb.astype(np.uint16) * 257
    write_png_frames(tmp_path / "g", deep)
    assert np.array_equal(read_png_frames(tmp_path / "g"), deep)


@pytest.mark.parametrize("matrix", ["bt601", "bt709"])
def test_limited_range_conversion_matches_ffmpeg(data_dir: Path, matrix: str) -> None:
    rgb = read_png_frames(data_dir / "video" / BASKETBALL, frames=1)[0, :64, :96]
    out = run_ffmpeg(
        [
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            "96x64",
            "-i",
            "pipe:0",
            "-vf",
            f"scale=out_color_matrix={matrix}:out_range=tv:flags=accurate_rnd+full_chroma_int+bitexact",
            "-pix_fmt",
            "yuv444p",
            "-f",
            "rawvideo",
            "pipe:1",
        ],
        what="swscale",
        param=matrix,
        input_bytes=rgb.tobytes(),
    ).stdout
    ffmpeg = np.frombuffer(out, np.uint8).reshape(3, 64, 96).transpose(1, 2, 0).astype(int)
    ours = pl.quantise(rgb_to_ycbcr(rgb, matrix, "limited", 8), 8).astype(int)
    diff = np.abs(ours - ffmpeg)
    assert diff.max() <= 1 and diff.mean() < 0.03
    assert ours[..., 0].min() >= 16 and ours[..., 0].max() <= 235


def test_full_range_bt601_is_jpegs_and_conversions_invert() -> None:
    rgb = np.random.default_rng(0).integers(0, 1024, (4, 6, 3)).astype(np.uint16)
    assert np.allclose(rgb_to_ycbcr(rgb, "bt601", "full", 10), rgb_to_jfif(rgb, 10))
    for matrix in ("bt601", "bt709"):
        for rng_ in ("full", "limited"):
            back = ycbcr_to_rgb(rgb_to_ycbcr(rgb, matrix, rng_, 10), matrix, rng_, 10)
            assert np.allclose(back, rgb)
    assert not np.allclose(rgb_to_ycbcr(rgb, "bt601", "full", 10), rgb_to_ycbcr(rgb, "bt709", "full", 10))


def test_png_clip_conversion_is_recorded_and_close(data_dir: Path) -> None:
    clip = read_video(data_dir / "video" / BASKETBALL, fps=50, frames=2, chroma="420", matrix="bt709")
    assert clip.pix_fmt == "yuv420p" and clip.planes[1].shape == (2, 120, 208)
    assert clip.describe()["matrix"] == "bt709" and "converted from PNG" in clip.colour_source
    rgb = read_png_frames(data_dir / "video" / BASKETBALL, frames=2)
    back = clip.to_rgb()
    assert back.shape == rgb.shape
    assert np.abs(back.astype(int) - rgb).mean() < 2.5  # 4:2:0 loses chroma detail only
    gray = clip_from_rgb(rgb, fps=50, chroma="400", range_="full")
    assert gray.to_rgb().shape == (2, 240, 416, 1)


def test_crop_and_take(data_dir: Path) -> None:
    clip = read_video(data_dir / "video" / "foreman_176x144_30fps.yuv")
    part = clip.take(3, start=2).crop(8, 16, 64, 32)
    assert [p.shape for p in part.planes] == [(3, 64, 32), (3, 32, 16), (3, 32, 16)]
    assert np.array_equal(part.planes[1], clip.planes[1][2:5, 4:36, 8:24])
    with pytest.raises(DataError, match="even offsets"):
        clip.crop(1, 0, 64, 64)
    with pytest.raises(DataError, match="outside"):
        clip.take(4, start=8)
    with pytest.raises(DataError, match="shaped"):
        Clip((clip.planes[0], clip.planes[1]), "420", 8, Fraction(30))
