"""Real x265 / libaom intra coding through ffmpeg: constant QP, elementary-stream rate, bit depths."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.codecs import CODECS
from bench.codecs.ffmpeg_tools import run_ffmpeg
from bench.codecs.planes import down2, quantise, up2
from bench.colour import jfif_to_rgb, rgb_to_jfif
from bench.errors import CodecError

# libaom's quantizer_to_qindex (av1/encoder/ratectrl.c)
AOM_QINDEX = [4 * q for q in range(62)] + [249, 255]


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    return float(10 * np.log10(peak**2 / np.mean((a.astype(float) - b.astype(float)) ** 2)))


@pytest.fixture(scope="module")
def crop(kodim) -> np.ndarray:
    return np.ascontiguousarray(kodim(23)[192:320, 288:480])


@pytest.fixture(scope="module")
def luma10(crop) -> np.ndarray:
    """A 10-bit plane with real low bits, plus black and white strips to catch range squeezing."""
    low_bits = np.random.default_rng(1).integers(0, 4, crop.shape[:2]).astype(np.uint16)
    y = crop[:, :, 1].astype(np.uint16) * 4 + low_bits
    y[:8], y[-8:] = 0, 1023
    return y[:, :, None]


def trace(bitstream: bytes, muxer: str, tmp_path: Path) -> dict[str, list[int]]:
    """Every syntax element ffmpeg's trace_headers reports, name -> values (in order)."""
    path = tmp_path / f"s.{muxer}"
    path.write_bytes(bitstream)
    err = run_ffmpeg(
        ["-f", muxer, "-i", str(path), "-c:v", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"],
        what="trace",
        param=muxer,
    ).stderr.decode()
    found: dict[str, list[int]] = {}
    for name, value in re.findall(r"\]\s+\d+\s+(\w+)(?:\[[^\]]*\])*\s+[01]+ = (-?\d+)", err):
        found.setdefault(name, []).append(int(value))
    return found


CHROMA_CASES = [("400", "raw", 1), ("420", "ycbcr", 3), ("420", "raw", 3), ("444", "ycbcr", 3), ("444", "raw", 3)]


@pytest.mark.parametrize("name", ["hevc", "av1"])
@pytest.mark.parametrize("chroma,colour,channels", CHROMA_CASES)
def test_odd_size_rate_shape_dtype(crop, name, chroma, colour, channels):
    img = np.ascontiguousarray(crop[:67, :93, :channels])
    res = CODECS.build(name, chroma=chroma, colour=colour).encode_image(img, 30, 8)
    assert res.decoded.shape == img.shape and res.decoded.dtype == np.uint8
    assert res.bpp() == 8 * len(res.bitstream) / (67 * 93)
    assert res.extra["coded_size"] == ([94, 68] if chroma == "420" else [93, 67])
    assert psnr(img, res.decoded) > 30
    assert ("qp=30:ipratio=1" if name == "hevc" else "-crf 30 -b:v 0 -qmin 30 -qmax 30") in res.command
    assert f"-pix_fmt {res.extra['pix_fmt']}" in res.command


def test_hevc_is_constant_qp_without_settings_sei(crop, tmp_path):
    res = CODECS.build("hevc").encode_image(crop, 33, 8)
    syntax = trace(res.bitstream, "hevc", tmp_path)
    assert 26 + syntax["init_qp_minus26"][0] + syntax["slice_qp_delta"][0] == 33
    assert set(syntax["cu_qp_delta_enabled_flag"]) == {0}  # PPS (also shown from extradata)
    assert 39 not in syntax["nal_unit_type"]  # info=0: no prefix SEI with x265's settings
    assert res.bitstream.startswith(b"\x00\x00\x00\x01")  # Annex-B, no container


@pytest.mark.parametrize("qp", [20, 45])
def test_av1_is_constant_qindex(crop, tmp_path, qp):
    res = CODECS.build("av1").encode_image(crop, qp, 8)
    syntax = trace(res.bitstream, "obu", tmp_path)
    assert syntax["base_q_idx"] == [AOM_QINDEX[qp]]
    assert syntax["delta_q_present"] == [0]
    assert res.bitstream[:2] == b"\x12\x00"  # low-overhead OBUs: a temporal delimiter first


@pytest.mark.parametrize("name,qps", [("hevc", [17, 22, 27, 32, 37, 42]), ("av1", [8, 16, 24, 32, 40, 48])])
def test_rate_falls_as_qp_rises(crop, name, qps):
    codec = CODECS.build(name)
    rates = [codec.encode_image(crop, qp, 8).nbytes for qp in qps]
    assert rates == sorted(rates, reverse=True) and len(set(rates)) == len(rates)


@pytest.mark.parametrize("name,qp,window", [("hevc", 22, (38, 50)), ("av1", 16, (38, 50))])
def test_quality_window_420(crop, name, qp, window):
    res = CODECS.build(name, chroma="420").encode_image(crop, qp, 8)
    assert window[0] < psnr(crop, res.decoded) < window[1]
    assert 0.1 < res.bpp() < 2.0


@pytest.mark.parametrize("name", ["hevc", "av1"])
def test_gray_decodes_to_one_channel(crop, tmp_path, name):
    res = CODECS.build(name, chroma="400").encode_image(crop[:, :, 1:2], 25, 8)
    assert res.decoded.shape == (128, 192, 1) and res.extra["pix_fmt"] == "gray"
    syntax = trace(res.bitstream, "hevc" if name == "hevc" else "obu", tmp_path)
    assert (syntax["chroma_format_idc"][0] == 0) if name == "hevc" else (syntax["mono_chrome"][0] == 1)


@pytest.mark.parametrize("name,qp,max_err", [("hevc", 0, 4), ("av1", 0, 0), ("av1", 4, 16)])
def test_ten_bit_round_trip(luma10, name, qp, max_err):
    res = CODECS.build(name, chroma="400").encode_image(luma10, qp, 10)
    assert res.decoded.dtype == np.uint16 and res.extra["pix_fmt"] == "gray10le"
    assert np.abs(res.decoded.astype(int) - luma10).max() <= max_err
    assert res.decoded.max() > 1000 and res.decoded.min() < 10  # full range, not squeezed
    assert np.mean(res.decoded % 4 != 0) > 0.5  # real 10-bit values, not 8-bit scaled up


@pytest.mark.parametrize("name", ["hevc", "av1"])
def test_ten_bit_colour(crop, name):
    img = crop.astype(np.uint16) * 4 + 2
    res = CODECS.build(name, chroma="420").encode_image(img, 10, 10)
    assert res.decoded.dtype == np.uint16 and res.extra["pix_fmt"] == "yuv420p10le"
    assert psnr(img, res.decoded, 1023) > 38 and res.decoded.max() > 255


def test_bt601_matches_jpegs_matrix_and_inverts(crop):
    ours = quantise(rgb_to_jfif(crop, 8), 8).astype(int)
    pillow = np.asarray(Image.fromarray(crop).convert("YCbCr")).astype(int)
    assert np.abs(ours - pillow).max() <= 1
    assert np.abs(quantise(jfif_to_rgb(rgb_to_jfif(crop, 10), 10), 10).astype(int) - crop).max() == 0


def test_chroma_resampling_is_exact_on_linear_ramps():
    y, x = np.mgrid[0:16, 0:24]
    ramp = 3.0 * x + 2.0 * y + 10
    back = up2(down2(ramp))
    assert back.shape == ramp.shape
    assert np.allclose(back[1:-1, 1:-1], ramp[1:-1, 1:-1])
    assert np.allclose(down2(np.full((6, 8), 7.0)), 7.0)


def test_bad_extra_params_raise_codec_error(crop):
    with pytest.raises(CodecError) as info:
        CODECS.build("hevc", chroma="400", params="foo=1").encode_image(crop[:, :, :1], 30, 8)
    msg = str(info.value)
    assert "'hevc'" in msg and "qp=30" in msg and "Unknown option: foo" in msg and info.value.stderr
    with pytest.raises(CodecError) as info:
        CODECS.build("hevc", params="rd=banana").encode_image(crop, 30, 8)
    assert "Invalid value for rd: banana" in str(info.value)
    with pytest.raises(CodecError) as info:
        CODECS.build("av1", params="sharpness=99").encode_image(crop, 40, 8)
    msg = str(info.value)
    assert "'av1'" in msg and "qp=40" in msg and "sharpness" in msg and "stderr:" in msg


@pytest.mark.parametrize(
    "name,options,match",
    [
        ("hevc", {"chroma": "422"}, "'chroma'"),
        ("hevc", {"chroma": "400", "colour": "ycbcr"}, "'colour'"),
        ("av1", {"colour": "rgb"}, "'colour'"),
        ("hevc", {"preset": "fastest"}, "'preset'"),
        ("av1", {"preset": 9}, "'preset'"),
        ("av1", {"params": "cq-level=10"}, "may not set 'cq-level'"),
        ("hevc", {"params": "qp=10"}, "may not set 'qp'"),
        ("hevc", {"params": "rd"}, "key=value"),
        ("hevc", {"threads": 0}, "'threads'"),
    ],
)
def test_bad_options(name, options, match):
    with pytest.raises(ValueError, match=match):
        CODECS.build(name, **options)


def test_bad_inputs(crop):
    codec = CODECS.build("hevc")
    with pytest.raises(ValueError, match=r"0\.\.51"):
        codec.encode_image(crop, 52, 8)
    with pytest.raises(ValueError, match=r"0\.\.63"):
        CODECS.build("av1").encode_image(crop, 64, 8)
    with pytest.raises(ValueError, match="3-channel"):
        codec.encode_image(crop[:, :, :1], 30, 8)
    with pytest.raises(ValueError, match="bitdepth 9"):
        codec.encode_image(crop.astype(np.uint16), 30, 9)


def test_versions_name_the_encoders():
    assert re.search(r"libx265 \d+\.\d+", CODECS.build("hevc").version())
    assert re.search(r"libaom-av1 v\d+\.\d+", CODECS.build("av1").version())
    assert "ffmpeg version" in CODECS.build("av1").version()
