"""``get_codec``: the registry's names, its "choose from" error and option checking."""
from __future__ import annotations

import pytest

from bench.codecs import CODECS, get_codec
from bench.registry import UnknownNameError


def test_all_codecs_registered():
    assert {"jpeg", "jpeg12", "hevc", "av1"} <= set(CODECS.names())


def test_unknown_codec_lists_the_choices():
    with pytest.raises(UnknownNameError, match=r"choose from: .*jpeg"):
        get_codec("jpeg2000")


def test_unknown_option_is_named():
    with pytest.raises(ValueError, match=r"no option 'qualty'.*mode, chroma, tables, optimize"):
        get_codec("jpeg", qualty=90)


@pytest.mark.parametrize("name,options", [("jpeg", {"mode": "gray", "tables": "flat"}),
                                          ("jpeg12", {"chroma": "444"}),
                                          ("hevc", {"chroma": "400", "colour": "raw"}),
                                          ("av1", {"preset": 8, "params": "sharpness=2"})])
def test_options_round_trip_into_describe(name, options):
    described = get_codec(name, **options).describe()
    assert described["codec"] == name
    assert {k: described[k] for k in options} == options


def test_unquoted_yaml_chroma_is_accepted():
    assert get_codec("hevc", chroma=400).chroma == "400"
    assert get_codec("jpeg", chroma=444).chroma == "444"
    assert get_codec("jpeg12", chroma=420).chroma == "420"
