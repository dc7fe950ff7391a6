"""Builders for the ``codec`` and ``compressai`` method kinds (registered with ``bench.builders``)."""

from __future__ import annotations

from baselines.conventional import ConventionalCodec
from baselines.learned import CompressAIMethod
from baselines.video import VideoCodecMethod
from bench.builders import BUILDERS, BuildContext
from bench.codecs import CODECS, codec_names
from bench.config import CodecMethodConfig, CompressAIMethodConfig, MethodConfig
from bench.data import check_no_overlap, expand_path, resolve_dataset
from bench.errors import ConfigError
from bench.method import Method


@BUILDERS.register("codec")
def build_codec(where: str, m: MethodConfig, ctx: BuildContext) -> list[Method]:
    """The codec method, with its options and every rate point checked against the codec's range."""
    assert isinstance(m, CodecMethodConfig)
    serves = codec_names(inter=ctx.video)  # video experiments take inter codecs, image ones all-intra
    if m.codec not in serves:
        what = (
            f"unknown codec {m.codec!r}; choose from"
            if m.codec not in CODECS
            else f"{m.codec!r} is not a video codec; a video experiment takes"
            if ctx.video
            else f"{m.codec!r} is a video codec (low-delay P); an image experiment takes"
        )
        raise ConfigError(f"{where}.codec: {what}: {', '.join(serves)}")
    method: ConventionalCodec | VideoCodecMethod
    try:
        method = VideoCodecMethod(m) if ctx.video else ConventionalCodec(m)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}{'' if ctx.video else '.options'}: {exc}") from None
    for j, point in enumerate(m.rate_points):
        try:
            method.codec.check_param(point)
        except ValueError as exc:
            raise ConfigError(f"{where}.rate_points.{j}: {exc}") from None
    return [method]


@BUILDERS.register("compressai")
def build_compressai(where: str, m: MethodConfig, ctx: BuildContext) -> list[Method]:
    assert isinstance(m, CompressAIMethodConfig)
    if ctx.video:
        raise ConfigError(f"{where}: method kind 'compressai' is not available for video (use codec or sandwich)")
    scenario = ctx.scenario
    if ctx.channels != 3 or (scenario.bitdepth != 8 and m.adapt != "msb8"):
        hint = "; set adapt: msb8 to code the 8 most significant bits" if ctx.channels == 3 else ""
        raise ConfigError(
            f"{where}: CompressAI codecs take 8-bit RGB; scenario {scenario.name!r} gives "
            f"{scenario.bitdepth}-bit images with {ctx.channels} channel(s){hint}"
        )
    folder = expand_path(m.checkpoint_dir) if m.checkpoint_dir is not None else None
    own = None
    if m.train is not None and m.train.data is not None:
        own = resolve_dataset(m.train.data, f"{where}.train.data")
        if ctx.eval_set is not None:
            check_no_overlap(own, ctx.eval_set)
    return [CompressAIMethod(m, folder, own)]
