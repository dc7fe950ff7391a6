"""Real 12-bit JPEG through imagecodecs: the 12 bits must survive, and the stream be SOF1 12-bit."""

from __future__ import annotations

import numpy as np
import pytest

from bench.codecs import CODECS
from bench.codecs.jpeg12 import sof_precision


def psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    return float(10 * np.log10(peak**2 / np.mean((a.astype(float) - b.astype(float)) ** 2)))


@pytest.fixture(scope="module")
def img12(kodim) -> np.ndarray:
    """kodim23 crop lifted to 12 bits with dither in the 4 new low bits (true 12-bit content)."""
    crop = kodim(23)[192:320, 288:480].astype(np.uint16)
    return crop * 16 + np.random.default_rng(0).integers(0, 16, crop.shape).astype(np.uint16)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [(128, 192), (67, 93)])
def test_twelve_bits_survive(img12, channels, size):
    img = np.ascontiguousarray(img12[: size[0], : size[1], :channels])
    res = CODECS.build("jpeg12", chroma="444").encode_image(img, 95, 12)
    assert res.decoded.shape == img.shape and res.decoded.dtype == np.uint16
    assert res.bpp() == 8 * len(res.bitstream) / (size[0] * size[1])
    assert sof_precision(res.bitstream) == 12
    assert res.decoded.max() > 255
    assert np.mean(res.decoded % 16 != 0) > 0.5  # not 8-bit samples scaled up
    assert psnr(img, res.decoded, 4095) > 55


def test_beats_the_8_bit_ceiling(img12):
    """Rounding to 8 bits caps PSNR near 59 dB on this content; q=100 at 12 bits must beat it."""
    gray = np.ascontiguousarray(img12[:, :, 1:2])
    assert psnr(gray, CODECS.build("jpeg12").encode_image(gray, 100, 12).decoded, 4095) > 65
    assert psnr(gray, (gray >> 4 << 4) + 8, 4095) < 60


def test_rate_falls_with_quality_and_chroma(img12):
    codec = CODECS.build("jpeg12")
    rates = [codec.encode_image(img12, q, 12).nbytes for q in (95, 80, 60, 40, 20)]
    assert rates == sorted(rates, reverse=True) and len(set(rates)) == len(rates)
    assert CODECS.build("jpeg12", chroma="444").encode_image(img12, 80, 12).nbytes > rates[1]


def test_ten_bit_content_stays_in_range(img12):
    img10 = img12 >> 2
    res = CODECS.build("jpeg12").encode_image(img10, 90, 10)
    assert res.decoded.max() <= 1023 and psnr(img10, res.decoded, 1023) > 40


def test_bad_inputs(img12):
    codec = CODECS.build("jpeg12")
    with pytest.raises(ValueError, match="shift the image right by 4"):
        codec.encode_image(img12 * 16, 90, 16)
    with pytest.raises(ValueError, match="do not fit 12 bits"):
        codec.encode_image(img12 | 4096, 90, 12)
    with pytest.raises(ValueError, match="'jpeg'"):
        codec.encode_image((img12 >> 4).astype(np.uint8), 90, 8)
    with pytest.raises(ValueError, match=r"1\.\.100"):
        codec.encode_image(img12, 0, 12)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        codec.encode_image(img12[:, :, :2], 90, 12)
    with pytest.raises(ValueError, match="'chroma'"):
        CODECS.build("jpeg12", chroma="400")


def test_version_names_libjpeg_turbo():
    assert "libjpeg_turbo" in CODECS.build("jpeg12").version()
