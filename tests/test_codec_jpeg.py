"""Real Pillow/libjpeg-turbo JPEG: rate accounting, stored tables, channel modes, quality windows."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from bench.codecs import CODECS
from bench.codecs.jpeg import _save, encode_gray_flat, flat_table, standard_tables
from bench.codecs.planes import quantise
from bench.colour import rgb_to_jfif
from bench.errors import CodecError


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    return float(10 * np.log10(peak**2 / np.mean((a.astype(float) - b.astype(float)) ** 2)))


@pytest.fixture(scope="module")
def crop(kodim) -> np.ndarray:
    """A textured 128 x 192 crop of kodim23 (parrot heads)."""
    return np.ascontiguousarray(kodim(23)[192:320, 288:480])


def stored_tables(data: bytes) -> dict[int, list[int]]:
    return {k: list(v) for k, v in Image.open(io.BytesIO(data)).quantization.items()}


CASES = [
    ("rgb", "420", 3),
    ("rgb", "444", 3),
    ("raw", "420", 3),
    ("raw", "444", 3),
    ("gray", None, 1),
    ("planes", None, 4),
]


@pytest.mark.parametrize("tables,param", [("standard", 75), ("flat", 12.0)])
@pytest.mark.parametrize("mode,chroma,channels", CASES)
@pytest.mark.parametrize("size", [(128, 192), (67, 93)])
def test_rate_shape_dtype_every_mode(crop, mode, chroma, channels, tables, param, size):
    four = np.concatenate([crop, crop[:, :, :1]], axis=2)
    img = np.ascontiguousarray(four[: size[0], : size[1], :channels])
    res = CODECS.build("jpeg", mode=mode, chroma=chroma, tables=tables).encode_image(img, param, 8)
    assert res.decoded.shape == img.shape and res.decoded.dtype == np.uint8
    assert res.bpp() == 8 * len(res.bitstream) / (size[0] * size[1])
    assert res.bitstream[:2] == b"\xff\xd8" and res.encode_s > 0 and "JPEG" in res.command
    assert psnr(img, res.decoded) > 25


@pytest.mark.parametrize(
    "step,entry", [(1, 1), (0.3, 1), (7.5, 8), (8.5, 8), (12.7, 13), (254.6, 255), (255, 255), (300, 255)]
)
@pytest.mark.parametrize("mode", ["gray", "rgb"])
def test_flat_table_is_stored_as_requested(crop, step, entry, mode):
    img = crop[:, :, :1] if mode == "gray" else crop
    res = CODECS.build("jpeg", mode=mode, tables="flat").encode_image(img, step, 8)
    assert stored_tables(res.bitstream) == {0: [entry] * 64}
    layers = Image.open(io.BytesIO(res.bitstream)).layer
    assert [tq for *_, tq in layers] == [0] * img.shape[2]  # every component uses that table


@pytest.mark.parametrize(
    "quality,first_row",
    [
        (5, [160, 110, 100, 160, 240, 255, 255, 255]),
        (50, [16, 11, 10, 16, 24, 40, 51, 61]),
        (90, [3, 2, 2, 3, 5, 8, 10, 12]),
    ],
)
def test_standard_tables_are_libjpegs_annex_k(crop, quality, first_row):
    res = CODECS.build("jpeg", mode="rgb").encode_image(crop, quality, 8)
    luma, chroma = standard_tables(quality, colour=True)
    assert stored_tables(res.bitstream) == {0: luma, 1: chroma}
    assert luma[:8] == first_row


def test_quality_with_qtables_trap_is_caught(crop):
    """Pillow >= 11.3 rescales qtables by quality; the table check must refuse that stream."""
    table = flat_table(8)
    with pytest.raises(CodecError, match="stored quantization tables"):
        _save(Image.fromarray(crop), {"qtables": [table], "quality": 100}, [table], 8)


def test_rate_falls_with_quality_and_step(crop):
    std = CODECS.build("jpeg", mode="rgb", chroma="444")
    rates = [std.encode_image(crop, q, 8).nbytes for q in (95, 80, 60, 40, 20, 5)]
    assert rates == sorted(rates, reverse=True) and len(set(rates)) == len(rates)
    flat = CODECS.build("jpeg", mode="gray", tables="flat")
    rates = [flat.encode_image(crop[:, :, 1:2], d, 8).nbytes for d in (1, 2, 4, 8, 16, 32, 64, 128)]
    assert rates == sorted(rates, reverse=True) and len(set(rates)) == len(rates)


def test_quality_windows(crop):
    rgb = CODECS.build("jpeg", mode="rgb")
    hi, lo = rgb.encode_image(crop, 90, 8), rgb.encode_image(crop, 10, 8)
    assert 35 < psnr(crop, hi.decoded) < 50 and 25 < psnr(crop, lo.decoded) < 33
    assert 1.0 < hi.bpp() < 3.0 and 0.1 < lo.bpp() < 0.5
    gray = CODECS.build("jpeg", mode="gray", tables="flat").encode_image(crop[:, :, 1:2], 1, 8)
    assert psnr(crop[:, :, 1:2], gray.decoded) > 50


def test_gray_is_one_component(crop):
    res = CODECS.build("jpeg", mode="gray").encode_image(crop[:, :, 0], 75, 8)  # H x W accepted too
    assert res.decoded.shape == (128, 192, 1)
    pil = Image.open(io.BytesIO(res.bitstream))
    assert pil.mode == "L" and len(pil.layer) == 1


def test_raw_mode_bypasses_colour_conversion():
    """Stored components must be the input channels (raw) vs its YCbCr (rgb)."""
    y, x = np.mgrid[0:64, 0:96]
    img = np.stack([40 + 2 * x, 200 - 2 * y, 60 + x + y], axis=2).astype(np.uint8)  # strongly coloured

    def components(data: bytes) -> np.ndarray:
        pil = Image.open(io.BytesIO(data))
        pil.draft("YCbCr", None)
        return np.asarray(pil).astype(int)

    raw = CODECS.build("jpeg", mode="raw", chroma="444").encode_image(img, 98, 8)
    rgb = CODECS.build("jpeg", mode="rgb", chroma="444").encode_image(img, 98, 8)
    assert np.abs(raw.decoded.astype(int) - img).max() <= 3
    assert np.abs(components(raw.bitstream) - img).max() <= 3
    assert np.abs(components(rgb.bitstream) - quantise(rgb_to_jfif(img, 8), 8)).max() <= 3
    assert np.abs(components(rgb.bitstream) - img).mean() > 20
    converted = np.asarray(Image.open(io.BytesIO(raw.bitstream)).convert("RGB")).astype(int)
    assert np.abs(converted - img).mean() > 20  # a normal decoder would have converted


def test_planes_are_separate_gray_jpegs(crop):
    img = np.ascontiguousarray(np.concatenate([crop, 255 - crop[:, :, :1]], axis=2))
    flat = CODECS.build("jpeg", mode="planes", tables="flat").encode_image(img, 9.3, 8)
    singles = [encode_gray_flat(np.ascontiguousarray(img[:, :, c]), 9.3) for c in range(4)]
    assert flat.bitstream == b"".join(singles)
    assert flat.extra["plane_bytes"] == [len(s) for s in singles]
    std = CODECS.build("jpeg", mode="planes").encode_image(img, 60, 8)
    gray = CODECS.build("jpeg", mode="gray")
    assert std.extra["plane_bytes"] == [gray.encode_image(img[:, :, c : c + 1], 60, 8).nbytes for c in range(4)]
    assert sum(std.extra["plane_bytes"]) == std.nbytes


def test_encode_gray_flat_matches_codec_and_checks_input(crop):
    plane = np.ascontiguousarray(crop[:, :, 2])
    codec = CODECS.build("jpeg", mode="gray", tables="flat", optimize=False)
    assert encode_gray_flat(plane, 20, optimize=False) == codec.encode_image(plane, 20, 8).bitstream
    with pytest.raises(ValueError, match="H x W uint8"):
        encode_gray_flat(crop, 20)
    with pytest.raises(ValueError, match="step"):
        encode_gray_flat(plane, 0)


def test_optimize_changes_only_the_entropy_code(crop):
    on = CODECS.build("jpeg", optimize=True).encode_image(crop, 75, 8)
    off = CODECS.build("jpeg", optimize=False).encode_image(crop, 75, 8)
    assert on.nbytes < off.nbytes
    assert np.array_equal(on.decoded, off.decoded)


@pytest.mark.parametrize(
    "options,match",
    [
        ({"mode": "ycbcr"}, "'mode'"),
        ({"tables": "annexk"}, "'tables'"),
        ({"chroma": "422"}, "'chroma'"),
        ({"mode": "gray", "chroma": "444"}, "'chroma' applies"),
        ({"optimize": "yes"}, "'optimize'"),
    ],
)
def test_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        CODECS.build("jpeg", **options)


def test_bad_inputs(crop):
    codec = CODECS.build("jpeg")
    with pytest.raises(ValueError, match="jpeg12"):
        codec.encode_image(crop.astype(np.uint16), 75, 10)
    with pytest.raises(ValueError, match="3-channel"):
        codec.encode_image(crop[:, :, :1], 75, 8)
    for q in (0, 101, 50.5):
        with pytest.raises(ValueError, match=r"1\.\.100"):
            codec.encode_image(crop, q, 8)


def test_version_and_description():
    codec = CODECS.build("jpeg", mode="gray", tables="flat")
    assert "libjpeg-turbo" in codec.version() and "Pillow" in codec.version()
    assert codec.param_name == "step" and not codec.higher_param_is_better
    assert codec.describe()["tables"] == "flat"
    assert CODECS.build("jpeg").param_name == "quality"


def test_a_high_rate_encode_of_a_small_image_does_not_overflow_pillows_buffer() -> None:
    """Pillow writes an optimized JPEG into max(64 KiB, 1 byte/pixel) below quality 95: 320x320 noise at q92
    needs more (found in lowres: a sandwich's half-resolution image at q92). The codec gets the same bytes an
    unconstrained buffer gives: the tables given explicitly (2 bytes/pixel), identical stream."""
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (320, 320, 3), dtype=np.uint8)
    with pytest.raises(OSError):
        Image.fromarray(noise).save(io.BytesIO(), "JPEG", quality=92, optimize=True, subsampling=0)
    res = CODECS.build("jpeg", mode="rgb", chroma="444").encode_image(noise, 92, 8)
    assert len(res.bitstream) > 320 * 320
    ref = io.BytesIO()
    Image.fromarray(noise).save(ref, "JPEG", qtables=standard_tables(92, True), optimize=True, subsampling=0)
    assert res.bitstream == ref.getvalue()
