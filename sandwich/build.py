"""Builder for the ``sandwich`` method kind (registered with ``bench.builders``): one member per λ."""

from __future__ import annotations

from collections.abc import Callable

from bench.builders import BUILDERS, BuildContext
from bench.config import MethodConfig, SandwichMethodConfig
from bench.errors import ConfigError
from bench.method import Method
from bench.scenarios import SCENARIOS
from sandwich.member import SandwichMember
from sandwich.wrapped import WrappedCodec


@BUILDERS.register("sandwich")
def build_sandwich(where: str, m: MethodConfig, ctx: BuildContext) -> list[Method]:
    assert isinstance(m, SandwichMethodConfig)
    scenario = ctx.scenario
    if scenario.bottleneck is None:
        sandwich = ", ".join(n for n in SCENARIOS.names() if SCENARIOS.get(n).bottleneck is not None)
        raise ConfigError(
            f"{where}: scenario {scenario.name!r} defines no bottleneck for a sandwich; use one of: {sandwich}"
        )
    wrapped = _wrapped(where, m, ctx)
    if ctx.video:
        return _video_members(where, m, ctx, wrapped)
    try:
        return _seeded(
            ctx, lambda seed: [SandwichMember(m, scenario, g, ctx.channels, seed, wrapped) for g in m.lambdas]
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _seeded(ctx: BuildContext, members: Callable[[int], list[Method]]) -> list[Method]:
    """The members for the experiment's seed, or for each of its ``seeds`` (each member then named by its seed)."""
    if ctx.cfg.seeds is None:
        return members(ctx.cfg.seed)
    out = []
    for seed in ctx.cfg.seeds:
        for member in members(seed):
            member.assign_seed(seed)
            out.append(member)
    return out


def _wrapped(where: str, m: SandwichMethodConfig, ctx: BuildContext) -> WrappedCodec | None:
    """The codec method ``wraps`` names, as the sandwich's codec, rate points and start."""
    assert ctx.scenario.bottleneck is not None
    wrapped = None
    if m.wraps is not None:
        codecs = ctx.codec_configs()
        if m.wraps not in codecs:
            raise ConfigError(
                f"{where}.wraps: {m.wraps!r} is not a codec method of this experiment; choose from: "
                f"{', '.join(codecs) or '(none)'}"
            )
        try:
            wrapped = WrappedCodec.of(codecs[m.wraps], ctx.scenario.bottleneck, ctx.channels)
        except ValueError as exc:
            raise ConfigError(f"{where}.{exc}") from None
        foreign = [p for p in m.train.rate_points or [] if p not in wrapped.rate_points]
        if foreign:
            own = ", ".join(f"{p:g}" for p in wrapped.rate_points)
            raise ConfigError(
                f"{where}.train.rate_points: {', '.join(f'{p:g}' for p in foreign)} not among the rate "
                f"points of {m.wraps!r} ({own}); pick from those"
            )
    return wrapped


def _video_members(
    where: str, m: SandwichMethodConfig, ctx: BuildContext, wrapped: WrappedCodec | None
) -> list[Method]:
    from sandwich.video_member import VideoSandwichMember

    if wrapped is None and m.train.codec_in_loop != "proxy":
        raise ConfigError(
            f"{where}.train.codec_in_loop: the real codec in the loop codes at a wrapped codec's QPs; "
            "set wraps (an x265/x264 method of this experiment) or use codec_in_loop: proxy"
        )
    if wrapped is not None and m.video is not None and (m.video.codec_options or "codec" in m.video.model_fields_set):
        raise ConfigError(
            f"{where}.video: a sandwich that wraps {m.wraps!r} codes with that method's codec and options; "
            "drop video.codec and video.codec_options"
        )
    stills = ctx.stills.items if ctx.stills else ()
    try:
        return _seeded(
            ctx, lambda seed: [VideoSandwichMember(m, ctx.scenario, g, stills, seed, wrapped) for g in m.lambdas]
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
