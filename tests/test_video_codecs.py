"""Real x264 / x265 / libaom low-delay P at constant QP: stream syntax, planes, bit depth, rate."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from bench.codecs import CODECS, frame_type_bytes, kbps
from bench.codecs.annexb import picture_bytes
from bench.errors import CodecError
from bench.metrics.psnr import plane_psnr
from bench.registry import UnknownNameError
from bench.video import read_video
from bench.video.clip import Clip
from tests.test_codec_intra import AOM_QINDEX, trace

T = 5


@pytest.fixture(scope="module")
def clip(data_dir: Path) -> Clip:
    """5 frames of foreman, 96x64, 4:2:0 8-bit (it moves: P frames have work to do)."""
    return read_video(data_dir / "video" / "foreman_176x144_30fps.yuv", frames=T).crop(32, 48, 64, 96)


def psnr_seq(a: np.ndarray, b: np.ndarray, bitdepth: int = 8) -> float:
    return float(np.mean([plane_psnr(x, y, bitdepth) for x, y in zip(a, b, strict=True)]))


def test_x265_400_is_low_delay_p_at_constant_qp(clip: Clip, tmp_path: Path) -> None:
    res = CODECS.build("x265", chroma="400").encode([clip.planes[0]], 30, 8, clip.fps)
    assert len(res.decoded) == 1 and res.decoded[0].shape == (T, 64, 96)  # one plane
    assert 30 < psnr_seq(clip.planes[0], res.decoded[0]) < 42
    syntax = trace(res.bitstream, "hevc", tmp_path)
    assert set(syntax["chroma_format_idc"]) == {0}
    assert syntax["slice_type"] == [2] + [1] * (T - 1)  # I then P only, no B
    assert {26 + syntax["init_qp_minus26"][0] + d for d in syntax["slice_qp_delta"]} == {30}
    assert set(syntax["num_ref_idx_l0_default_active_minus1"]) == {0}  # one reference
    assert set(syntax["num_ref_idx_active_override_flag"]) == {0}
    assert set(syntax["cu_qp_delta_enabled_flag"]) == {0}
    assert 39 not in syntax["nal_unit_type"]  # no settings SEI counted as rate
    assert "bframes=0:ref=1" in res.command and "keyint=5:min-keyint=5" in res.command
    assert "rdoq-level=2" in res.command and res.extra["pix_fmt"] == "gray"


def test_x265_ten_bit_400_keeps_ten_bit_values(data_dir: Path) -> None:
    sparks = read_video(data_dir / "video" / "sparks_480x270_10bit.yuv", fps=60, frames=3).crop(96, 160, 64, 96)
    y = sparks.planes[0]
    res = CODECS.build("x265", chroma="400").encode([y], 0, 10, sparks.fps)
    dec = res.decoded[0]
    assert dec.dtype == np.uint16 and dec.shape == y.shape and res.extra["pix_fmt"] == "gray10le"
    assert dec.max() > 255 and np.mean(dec % 4 != 0) > 0.5  # not 8-bit values scaled up
    assert np.abs(dec.astype(int) - y).max() <= 8 and psnr_seq(y, dec, 10) > 60


def test_kbps_is_stream_bytes_at_the_real_frame_rate(clip: Clip) -> None:
    fps = Fraction(30000, 1001)
    res = CODECS.build("x265", chroma="400").encode([clip.planes[0]], 34, 8, fps)
    assert res.kbps(fps) == pytest.approx(res.nbytes * 8 * 30000 / 1001 / T / 1000, rel=1e-12)
    assert res.extra["fps"] == "30000/1001" and "-framerate 30000/1001" in res.command
    assert kbps(1000, 10, 25) == 20.0


def test_x264_is_low_delay_without_sei(clip: Clip, tmp_path: Path) -> None:
    res = CODECS.build("x264").encode(clip.planes, 28, 8, clip.fps)
    assert [p.shape for p in res.decoded] == [p.shape for p in clip.planes]
    assert psnr_seq(clip.planes[0], res.decoded[0]) > 32
    syntax = trace(res.bitstream, "h264", tmp_path)
    assert syntax["slice_type"] == [7] + [5] * (T - 1)  # all-I then all-P slices
    assert {26 + syntax["pic_init_qp_minus26"][0] + d for d in syntax["slice_qp_delta"]} == {28}
    assert set(syntax["num_ref_idx_l0_default_active_minus1"]) == {0}
    assert 6 not in syntax["nal_unit_type"]  # x264's settings SEI was stripped
    assert b"x264 - core" not in res.bitstream and "filter_units=remove_types=6" in res.command


def test_av1_ld_is_low_delay_at_constant_qindex(clip: Clip, tmp_path: Path) -> None:
    res = CODECS.build("av1-ld", chroma="400").encode([clip.planes[0]], 40, 8, clip.fps)
    syntax = trace(res.bitstream, "obu", tmp_path)
    assert syntax["base_q_idx"] == [AOM_QINDEX[40]] * T
    assert syntax["frame_type"] == [0] + [1] * (T - 1)  # key, then inter
    assert set(syntax["show_frame"]) == {1} and set(syntax["show_existing_frame"]) == {0}
    assert set(syntax["mono_chrome"]) == {1} and "-lag-in-frames 0" in res.command


def test_rgb_frames_in_rgb_frames_out(clip: Clip) -> None:
    rgb = clip.to_rgb()
    res = CODECS.build("x265", chroma="444").encode(rgb, 22, 8, clip.fps)
    assert res.decoded.shape == rgb.shape and res.decoded.dtype == np.uint8
    assert psnr_seq(rgb, res.decoded) > 36 and res.extra["colour"].startswith("BT.601 full")
    odd = rgb[:, :63, :95]
    res = CODECS.build("x264", chroma="420").encode(odd, 22, 8, clip.fps)
    assert res.decoded.shape == odd.shape and res.extra["coded_size"] == [96, 64]


@pytest.mark.parametrize("name", ["x264", "x265"])
def test_rate_falls_as_qp_rises(clip: Clip, name: str) -> None:
    codec = CODECS.build(name, chroma="400", preset="veryfast")
    sizes = [codec.encode([clip.planes[0]], qp, 8, 30).nbytes for qp in (22, 32, 42)]
    assert sizes[0] > sizes[1] > sizes[2]


def test_bad_inputs_and_options(clip: Clip) -> None:
    codec = CODECS.build("x265")
    with pytest.raises(ValueError, match="shaped"):
        codec.encode([clip.planes[0], clip.planes[0], clip.planes[0]], 30)
    with pytest.raises(ValueError, match="even luma size"):
        codec.encode([p[:, :-2, :-2] if i else p[:, :-1, :-1] for i, p in enumerate(clip.planes)], 30)
    with pytest.raises(ValueError, match=r"0\.\.51"):
        codec.encode(clip.planes, 52)
    with pytest.raises(ValueError, match="1-channel"):
        CODECS.build("x264", chroma="400").encode(clip.planes, 30)
    with pytest.raises(ValueError, match="may not set 'keyint'"):
        CODECS.build("x265", params="keyint=3")
    with pytest.raises(ValueError, match="no option 'gop'"):
        CODECS.build("x264", gop=3)
    with pytest.raises(UnknownNameError, match="choose from: av1, av1-ld, hevc, jpeg, jpeg12, x264, x265"):
        CODECS.build("vp9")
    with pytest.raises(CodecError, match="Error parsing option 'foo = 1'"):
        CODECS.build("x264", chroma="400", params="foo=1").encode([clip.planes[0]], 30)


def test_versions_name_the_encoders() -> None:
    assert re.search(r"libx264 core \d+", CODECS.build("x264").version())
    assert re.search(r"libx265 \d+\.\d+", CODECS.build("x265").version())
    assert re.search(r"libaom-av1 v\d+\.\d+", CODECS.build("av1-ld").describe()["version"])


@pytest.mark.parametrize("name", ["x264", "x265"])
def test_picture_bytes_split_the_whole_stream_into_one_i_and_p_pictures(clip: Clip, name: str) -> None:
    """Every byte of the Annex-B stream goes to a picture: one size per frame, summing to the stream;
    the I picture costs more than any P picture of a static-camera clip; rows get the split."""
    frames = clip.to_rgb()[:5]
    res = CODECS.build(name, chroma="420").encode(frames, 30, 8, clip.fps)
    sizes = res.extra["picture_bytes"]
    assert len(sizes) == 5 and sum(sizes) == res.nbytes and sizes[0] > max(sizes[1:])
    assert frame_type_bytes(res.extra) == {"i_frame_bytes": sizes[0], "p_frames_bytes": sum(sizes[1:])}
    assert frame_type_bytes({}) == {}
    with pytest.raises(ValueError, match="start code"):
        picture_bytes(b"\x01\x02" + res.bitstream, "hevc")


def test_x265_gives_the_same_stream_every_time(data_dir: Path) -> None:
    """Frame-parallel x265 (its default with 2 threads) coded this ½-res clip at QP 22 as 1236 or 1238
    bytes from run to run; with frame-threads=1 every encode of one input is the same stream."""
    from baselines import resize
    from sandwich.train_clips import ClipSampler

    rgb = read_video(data_dir / "video" / "foreman_176x144_30fps.yuv").to_rgb()
    frames = ClipSampler([rgb], [], frames=4, crop=64).sample(np.random.default_rng(0))[0]
    half = np.stack([resize.down(f, 2, "bicubic") for f in frames])
    codec = CODECS.build("x265", chroma="444", threads=2)
    assert len({codec.encode(half, 22, 8, Fraction(25)).bitstream for _ in range(12)}) == 1
