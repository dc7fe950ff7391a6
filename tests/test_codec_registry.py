"""``CODECS``: one registry for image and video codecs, its "choose from" error and option checking."""

from __future__ import annotations

import numpy as np
import pytest

from bench.codecs import CODECS, codec_names
from bench.registry import UnknownNameError

INTRA = ["av1", "hevc", "jpeg", "jpeg12"]
INTER = ["av1-ld", "x264", "x265"]


def test_one_registry_lists_every_codec_once():
    """Image (all-intra) and video (inter) codecs share the registry under distinct names."""
    assert CODECS.names() == sorted(INTRA + INTER)
    assert codec_names(inter=False) == INTRA and codec_names(inter=True) == INTER
    assert all(CODECS.get(n).name == n for n in CODECS.names())


def test_unknown_codec_lists_the_choices():
    with pytest.raises(UnknownNameError, match=r"unknown codec 'jpeg2000'; choose from: av1, av1-ld, hevc, jpeg"):
        CODECS.build("jpeg2000")


def test_unknown_option_is_named():
    with pytest.raises(ValueError, match=r"codec 'jpeg' has no option 'qualty'.*mode, chroma, tables, optimize"):
        CODECS.build("jpeg", qualty=90)
    with pytest.raises(ValueError, match=r"no option 'gop'; its options are: chroma, colour, preset"):
        CODECS.build("x264", gop=3)


@pytest.mark.parametrize(
    "name,options",
    [
        ("jpeg", {"mode": "gray", "tables": "flat"}),
        ("jpeg12", {"chroma": "444"}),
        ("hevc", {"chroma": "400", "colour": "raw"}),
        ("av1", {"preset": 8, "params": "sharpness=2"}),
        ("av1-ld", {"preset": 8, "params": "sharpness=2"}),
    ],
)
def test_options_round_trip_into_describe(name, options):
    described = CODECS.build(name, **options).describe()
    assert described["codec"] == name
    assert {k: described[k] for k in options} == options


def test_unquoted_yaml_chroma_is_accepted():
    assert CODECS.build("hevc", chroma=400).chroma == "400"
    assert CODECS.build("jpeg", chroma=444).chroma == "444"
    assert CODECS.build("jpeg12", chroma=420).chroma == "420"


@pytest.mark.parametrize("name", INTRA)
def test_an_intra_codec_codes_one_frame_per_call(name):
    frames = np.zeros((2, 16, 16, 3), np.uint8 if name != "jpeg12" else np.uint16)
    with pytest.raises(
        ValueError,
        match=rf"{name} is an all-intra image codec: .* got 2; a video takes one of: "
        "av1-ld, x264, x265",
    ):
        CODECS.build(name).encode(frames, 30, 8 if name != "jpeg12" else 12)


def test_an_image_is_a_one_frame_clip():
    img = np.arange(24 * 32 * 3, dtype=np.uint8).reshape(24, 32, 3)
    codec = CODECS.build("jpeg")
    clip, image = codec.encode(img[None], 75), codec.encode_image(img, 75)
    assert clip.bitstream == image.bitstream and np.array_equal(clip.decoded[0], image.decoded)
    assert clip.decoded.shape == (1, 24, 32, 3) and image.decoded.shape == (24, 32, 3)
    assert clip.bpp() == image.bpp() == 8 * image.nbytes / (24 * 32)
    assert image.kbps(25) == 8 * image.nbytes * 25 / 1000


def test_an_image_passed_as_frames_names_encode_image():
    img = np.zeros((48, 48, 1), np.uint8)
    with pytest.raises(
        ValueError,
        match=r"jpeg takes T x H x W x C frames, got shape \(48, 48, 1\); pass one image "
        "to encode_image",
    ):
        CODECS.build("jpeg", mode="gray").encode(img, 75)
    with pytest.raises(ValueError, match="jpeg takes 1 x H x W x C frames, not 1 planes"):
        CODECS.build("jpeg", mode="gray").encode([img[None, :, :, 0]], 75)
