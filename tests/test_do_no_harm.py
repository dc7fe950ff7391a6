"""Same codec, same start: an untrained wrapping sandwich (init: conventional) *is* its anchor.

For every shipped image experiment whose sandwich wraps a codec method, the untrained sandwich,
through the real codec, gives the anchor's bytes and reconstruction (hence every metric) at
every one of the anchor's rate points, on real images of odd size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from baselines.conventional import ConventionalCodec
from bench.config import CodecMethodConfig, SandwichMethodConfig, load_config
from bench.data import load_image
from bench.metrics import compute_metrics
from bench.scenarios import SCENARIOS
from sandwich.member import SandwichMember
from sandwich.post_flags import FLAG_BLOCK, flag_bytes
from sandwich.train import real_check
from sandwich.wrapped import WrappedCodec

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
CASES = {
    "grayscale": "gray400",
    "lowres": "lowres",
    "rgb": "rgb420",
    "lpips": "perceptual",
    "hdr": "hdr",
    "quick": "rgb420",  # the README's main job
}


def _wrapping_members(name: str) -> list[tuple[SandwichMethodConfig, CodecMethodConfig]]:
    cfg = load_config(EXPERIMENTS / f"{name}.yaml", profile=None if name == "quick" else "quick")
    codecs = {m.name: m for m in cfg.methods if isinstance(m, CodecMethodConfig)}
    return [(m, codecs[m.wraps]) for m in cfg.methods if isinstance(m, SandwichMethodConfig) and m.wraps]


def _source(scenario: str, data_dir: Path) -> np.ndarray:
    if scenario == "hdr":
        img = load_image(data_dir / "hdr" / "hdr_room.png")
        return SCENARIOS.get("hdr").to_source(img, "hdr_room")[:165, :171]
    img = load_image(data_dir / "kodak" / "kodim05.png")
    return SCENARIOS.get(scenario).to_source(img, "kodim05")[:165, :171]  # odd sides: padding paths too


def _flag_bytes(src: np.ndarray) -> int:
    return flag_bytes(-(-src.shape[0] // FLAG_BLOCK) * -(-src.shape[1] // FLAG_BLOCK))


@pytest.mark.slow  # every rate point of each shipped experiment through the real codec
@pytest.mark.parametrize("experiment", sorted(CASES))
def test_untrained_sandwich_reproduces_its_anchor(experiment: str, data_dir: Path) -> None:
    scenario = SCENARIOS.get(CASES[experiment])
    members = _wrapping_members(experiment)
    assert members, f"experiments/{experiment}.yaml has no sandwich that wraps a codec method"
    src = _source(scenario.name, data_dir)
    for m, anchor_cfg in members:
        used = [net for net, side in ((m.pre, "pre_only"), (m.post, "post_only")) if m.role in ("sandwich", side)]
        assert used and all(net.init == "conventional" for net in used)
        wrapped = WrappedCodec.of(anchor_cfg, scenario.bottleneck, src.shape[2])
        member = SandwichMember(m, scenario, m.lambdas[0], src.shape[2], seed=0, wrapped=wrapped)
        member.result = object()  # type: ignore[assignment]  # untrained: evaluate the start as is
        anchor = ConventionalCodec(anchor_cfg)
        assert member.rate_points() == list(anchor_cfg.rate_points)
        for q in anchor_cfg.rate_points:
            ours, theirs = member.run_frame(src, scenario.bitdepth, q), anchor.run_frame(src, scenario.bitdepth, q)
            assert ours.nbytes == theirs.nbytes + (_flag_bytes(src) if m.post_flag else 0), (m.name, q)
            assert np.array_equal(ours.decoded, theirs.decoded), (m.name, q)
            keys = scenario.default_metrics[:2]
            assert compute_metrics(src, ours.decoded, keys, scenario.bitdepth) == compute_metrics(
                src, theirs.decoded, keys, scenario.bitdepth
            )


def test_post_flag_keeps_g_only_where_it_helps(data_dir: Path) -> None:
    """post_flag: per 64² block the encoder keeps g's output only where it is closer to the source;
    elsewhere the decoder gives the wrapped codec's reconstruction. The flags' bits are counted."""
    cfg = load_config(EXPERIMENTS / "hdr.yaml")
    codecs = {m.name: m for m in cfg.methods if isinstance(m, CodecMethodConfig)}
    post_only = next(m for m in cfg.methods if isinstance(m, SandwichMethodConfig) and m.role == "post_only")
    m = post_only.model_copy(update={"post_flag": True})
    scenario = SCENARIOS.get("hdr")
    src = _source("hdr", data_dir)
    member = SandwichMember(
        m, scenario, 1.0, 3, seed=0, wrapped=WrappedCodec.of(codecs[m.wraps], scenario.bottleneck, 3)
    )
    member.result = object()  # type: ignore[assignment]
    q = codecs[m.wraps].rate_points[-1]
    theirs = ConventionalCodec(codecs[m.wraps]).run_frame(src, scenario.bitdepth, q)
    with torch.no_grad():
        member.model.post.mlp[-1].bias.fill_(0.05)  # g adds a constant: worse everywhere
    ours = member.run_frame(src, scenario.bitdepth, q)
    assert ours.extra["post_on"] == 0.0 and np.array_equal(ours.decoded, theirs.decoded)
    assert ours.nbytes == theirs.nbytes + _flag_bytes(src) == theirs.nbytes + 2  # 3 x 3 blocks: 9 bits in 2 bytes

    # g's output exact on the top-left block and off by a constant elsewhere: kept there only
    b_hat = member.model.real_codec().encode_image(member.model.bottleneck_image(src), q, 8).decoded
    with_post = theirs.decoded.astype(np.int64) + 3000
    with_post[:FLAG_BLOCK, :FLAG_BLOCK] = src[:FLAG_BLOCK, :FLAG_BLOCK]
    recon, on = member._switched(src, b_hat, with_post)
    assert on.shape == (3, 3) and on[0, 0] and on.sum() == 1
    assert np.array_equal(recon[:FLAG_BLOCK, :FLAG_BLOCK], src[:FLAG_BLOCK, :FLAG_BLOCK])
    assert np.array_equal(recon[FLAG_BLOCK:], theirs.decoded[FLAG_BLOCK:])


def test_the_training_check_switches_and_counts_the_post_flags_as_evaluation_does(data_dir: Path) -> None:
    """A member evaluated with post flags is checked with them: g off where it hurts, the bits in the rate."""
    m, anchor_cfg = _wrapping_members("quick")[0]
    assert m.post_flag
    scenario = SCENARIOS.get("rgb420")
    src = _source("rgb420", data_dir)
    member = SandwichMember(m, scenario, 1.0, 3, seed=0, wrapped=WrappedCodec.of(anchor_cfg, scenario.bottleneck, 3))
    with torch.no_grad():
        member.model.post.mlp[-1].bias.fill_(0.05)  # g adds a constant: worse everywhere
    plain, flagged = real_check(member.model, [src], "cpu"), real_check(member.model, [src], "cpu", post_flag=True)
    pixels = src.shape[0] * src.shape[1]
    assert flagged["real_bpp"] == pytest.approx(plain["real_bpp"] + 8 * _flag_bytes(src) / pixels, rel=1e-12)
    start = real_check(SandwichMember(m, scenario, 1.0, 3, 0, member.wrapped).model, [src], "cpu")
    assert flagged["real_psnr"] == start["real_psnr"] > plain["real_psnr"]  # every block switched back to the JPEG


VIDEO_CASES = {"video_gray": "gray400", "video_lowres": "lowres", "video_lpips": "perceptual"}


@pytest.mark.slow  # every QP of each shipped video experiment through real x265
@pytest.mark.parametrize("experiment", sorted(VIDEO_CASES))
def test_untrained_video_sandwich_reproduces_its_x265_anchor(experiment: str, data_dir: Path) -> None:
    """The video form of the image test above: bytes, decoded frames and every metric of the anchor."""
    from baselines.video import VideoCodecMethod
    from bench.metrics import sequence_metrics
    from bench.source import Source
    from bench.video.dataset import centre_crop
    from bench.video.io import read_video
    from sandwich.video_member import VideoSandwichMember

    scenario = SCENARIOS.get(VIDEO_CASES[experiment])
    members = _wrapping_members(experiment)
    assert members, f"experiments/{experiment}.yaml has no sandwich that wraps a codec method"
    clip = read_video(data_dir / "video" / "bus_352x288_30fps.yuv", frames=3)
    source = Source("bus", centre_crop(clip.to_rgb(), (96, 136)), 8, clip.fps)
    for m, anchor_cfg in members:
        used = [net for net, side in ((m.pre, "pre_only"), (m.post, "post_only")) if m.role in ("sandwich", side)]
        assert used and all(net.init == "conventional" for net in used)
        wrapped = WrappedCodec.of(anchor_cfg, scenario.bottleneck, 3)
        member = VideoSandwichMember(m, scenario, m.lambdas[0], seed=0, wrapped=wrapped)
        member.result = object()  # type: ignore[assignment]  # untrained: evaluate the start as is
        anchor = VideoCodecMethod(anchor_cfg)
        assert member.rate_points() == list(anchor_cfg.rate_points)
        keys = ["psnr-yuv", "psnr-yuv-pooled", "psnr-rgb"]
        for qp in anchor_cfg.rate_points:
            ours, theirs = member.run(source, qp), anchor.run(source, qp)
            assert ours.nbytes == theirs.nbytes and ours.extra["qp"] == qp, (m.name, qp)
            assert np.array_equal(ours.decoded, theirs.decoded), (m.name, qp)
            assert (
                sequence_metrics(source.frames, ours.decoded, keys).pooled
                == sequence_metrics(source.frames, theirs.decoded, keys).pooled
            )
