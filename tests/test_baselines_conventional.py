"""The conventional adaptations around real codecs: luma-only, half resolution, MSBs of HDR."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from baselines.conventional import ConventionalCodec, rgb_to_luma
from bench.config import CodecMethodConfig
from bench.metrics.psnr import psnr_rgb
from bench.scenarios import msb_saturation_db
from bench.source import Source


def method(**kw) -> ConventionalCodec:
    return ConventionalCodec(
        CodecMethodConfig.model_validate({"name": "m", "kind": "codec", "rate_points": [50], **kw})
    )


def test_luma_only_loses_colour_and_caps_psnr(kodim) -> None:
    img = kodim(23, (128, 192))
    m = method(codec="jpeg", adapt="luma", options={"mode": "gray"})
    res = m.run_frame(img, 8, 95)
    assert res.decoded.shape == img.shape
    assert np.array_equal(res.decoded[..., 0], res.decoded[..., 1])  # gray
    cap = psnr_rgb(img, np.repeat(rgb_to_luma(img, 8), 3, axis=2))
    assert psnr_rgb(img, res.decoded) <= cap + 0.05


def test_half_resolution_on_odd_sizes_costs_fewer_bytes(kodim) -> None:
    img = kodim(19, (67, 93))
    half = method(codec="jpeg", adapt="half_lanczos", options={"mode": "rgb", "chroma": "444"}).run_frame(img, 8, 90)
    full = method(codec="jpeg", options={"mode": "rgb", "chroma": "444"}).run_frame(img, 8, 90)
    assert half.decoded.shape == img.shape
    assert half.nbytes < full.nbytes
    assert 20 < psnr_rgb(img, half.decoded) < psnr_rgb(img, full.decoded)


def test_msb8_saturates_near_the_midpoint_limit(kodim) -> None:
    rng = np.random.default_rng(0)
    src8 = kodim(3, (64, 64)).astype(np.uint16)
    src = (src8 << 8) | rng.integers(0, 256, src8.shape, dtype=np.uint16)  # uniform LSBs
    m = method(codec="jpeg", adapt="msb8", options={"mode": "rgb", "chroma": "444"})
    best = m.run_frame(src, 16, 100)
    assert best.decoded.dtype == np.uint16
    # 58.96 dB: perfect MSBs, mid-point LSBs: the variance of the 256 dropped values plus the mid-point's ½ bias
    limit = 10 * math.log10(65535**2 / ((256**2 - 1) / 12 + 0.25))
    assert abs(limit - 58.96) < 0.01
    assert abs(msb_saturation_db(16, 8) - limit) < 1e-9  # the line drawn on HDR plots
    assert psnr_rgb(src, best.decoded, bitdepth=16) < limit + 0.05
    lossless_msb = ((src >> 8) << 8) + 128
    assert abs(psnr_rgb(src, lossless_msb, bitdepth=16) - limit) < 0.1


def test_msb12_through_12bit_jpeg_beats_the_8bit_limit(kodim) -> None:
    rng = np.random.default_rng(1)
    src = (kodim(3, (64, 64)).astype(np.uint16) << 8) | rng.integers(0, 16, (64, 64, 3), dtype=np.uint16)
    res = method(codec="jpeg12", adapt="msb12", options={"chroma": "444"}).run_frame(src, 16, 100)
    assert psnr_rgb(src, res.decoded, bitdepth=16) > 60


def test_msb10_through_10bit_hevc_keeps_more_than_msb8(kodim) -> None:
    """x265's QP 0 is not lossless at 10 bits, so the check is against 8-bit HEVC at the same QP."""
    rng = np.random.default_rng(2)
    src = (kodim(5, (64, 64)).astype(np.uint16) << 8) | rng.integers(0, 256, (64, 64, 3), dtype=np.uint16)
    opts = {"chroma": "444", "colour": "raw"}
    deep = method(codec="hevc", adapt="msb10", options=opts).run_frame(src, 16, 0)
    shallow = method(codec="hevc", adapt="msb8", options=opts).run_frame(src, 16, 0)
    assert deep.decoded.dtype == np.uint16
    assert psnr_rgb(src, deep.decoded, bitdepth=16) > psnr_rgb(src, shallow.decoded, bitdepth=16) + 1.5


def test_an_image_method_codes_each_frame_of_a_clip_on_its_own(kodim) -> None:
    """The unit is frames: a one-frame source is an image; on a clip an image codec is all-intra."""
    a, b = kodim(1, (64, 96)), kodim(2, (64, 96))
    m = method(codec="jpeg", options={"mode": "rgb", "chroma": "420"})
    clip = m.run(Source("ab", np.stack([a, b]), 8, Fraction(25)), 50)
    one, two = m.run_frame(a, 8, 50), m.run_frame(b, 8, 50)
    assert clip.nbytes == one.nbytes + two.nbytes
    assert np.array_equal(clip.decoded, np.stack([one.decoded, two.decoded]))
    still = m.run(Source.still("a", a, 8), 50)
    assert still.decoded.shape == (1, 64, 96, 3) and still.nbytes == one.nbytes
    with pytest.raises(ValueError, match="T x H x W x C"):
        Source("bad", a, 8)
