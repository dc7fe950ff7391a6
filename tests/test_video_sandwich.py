"""Video sandwich: training clips (real windows, synthetic camera motion), loss, QP mapping, real codec."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from baselines.video import VideoCodecMethod
from bench.config import CodecMethodConfig, DatasetConfig, SandwichMethodConfig, VideoSandwichConfig
from bench.data import load_image
from bench.scenarios import SCENARIOS
from bench.source import Source
from bench.video.dataset import resolve_video_dataset
from proxies.flow import warp
from sandwich.model import image_sandwich
from sandwich.train_clips import ClipSampler, camera_path, luma8, render
from sandwich.video_model import VideoCoding, video_sandwich
from sandwich.video_train import video_loss_terms


@pytest.fixture(scope="module")
def foreman() -> np.ndarray:
    ds = resolve_video_dataset(DatasetConfig(video=["${data}/video/foreman_176x144_30fps.yuv"]), "t")
    return ds.items[0].load()


def cfg(**over) -> SandwichMethodConfig:
    return SandwichMethodConfig.model_validate(
        {"name": "s", "kind": "sandwich", "lambdas": [600], "pre": {"unet": False}, "post": {"unet": False}, **over}
    )


def warp_error(frames: np.ndarray, flow: np.ndarray) -> tuple[float, float]:
    """Mean squared error of predicting frame t from t-1, with and without the flow (interior only)."""
    y = torch.from_numpy(luma8(frames).astype(np.float32))[:, None]
    warped = warp(y[:-1], torch.from_numpy(flow))
    inner = (slice(None), slice(None), slice(6, -6), slice(6, -6))
    return (float(((warped - y[1:])[inner] ** 2).mean()), float(((y[:-1] - y[1:])[inner] ** 2).mean()))


def test_synthetic_camera_flow_is_exact(data_dir: Path) -> None:
    still = load_image(data_dir / "train" / "bsds500" / "test_100007.jpg")
    path = camera_path(still.shape[:2], 64, 5, 4.0, 0.03, np.random.default_rng(3))
    frames, flow = render(still, path, 64)
    assert frames.shape == (5, 64, 64, 3) and flow.shape == (4, 2, 64, 64)
    with_flow, without = warp_error(frames, flow)
    assert with_flow < 0.15 * without  # the known camera predicts the next frame; stills do not move


def test_real_clip_windows_carry_their_flow(foreman: np.ndarray) -> None:
    sampler = ClipSampler([foreman], [], frames=4, crop=64)
    assert sampler.still_fraction == 0
    rng = np.random.default_rng(0)
    ratios = [with_flow / without for with_flow, without in (warp_error(*sampler.sample(rng)) for _ in range(8))]
    assert np.median(ratios) < 0.6  # a window whose flow were cut elsewhere would not predict its frames
    s, flow = sampler.batch(2, rng, "cpu")
    assert s.shape == (2, 4, 3, 64, 64) and flow.shape == (2, 3, 2, 64, 64)


def test_sampler_refuses_what_it_cannot_use(foreman: np.ndarray) -> None:
    with pytest.raises(ValueError, match="shorter than video.frames=12"):
        ClipSampler([foreman], [], frames=12, crop=64)
    with pytest.raises(ValueError, match="needs stills"):
        ClipSampler([foreman], [], frames=4, crop=64, still_fraction=0.5)


def coding(scenario: str, step: float, **over) -> VideoCoding:
    """A video sandwich (f, g around the video proxy) with its real-codec side."""
    return VideoCoding(video_sandwich(SCENARIOS.get(scenario), cfg(**over), 3, step).eval(), VideoSandwichConfig())


@pytest.mark.slow  # real training
def test_video_sandwich_loss_falls(foreman: np.ndarray) -> None:
    torch.manual_seed(0)
    model = video_sandwich(SCENARIOS.get("gray400"), cfg(), 3, 20.0)
    batch = ClipSampler([foreman], [], frames=3, crop=32).batch(2, np.random.default_rng(0), "cpu")
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    c = cfg().train
    losses = []
    for _ in range(25):
        terms = video_loss_terms(model, batch, 600.0, c)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        losses.append(float(terms["loss"].detach()))
    assert terms["proxy_bpp"] > 0 and 0 <= terms["inter_fraction"] <= 1
    assert losses[-1] < 0.5 * losses[0]


def test_trained_step_maps_to_hevc_qp_and_real_x265(foreman: np.ndarray) -> None:
    model = coding("gray400", 16.0)
    assert model.real_qp() == round(4 + 6 * math.log2(model.model.trained_step())) == 28
    assert model.real_qp(2.0) == 34 and model.real_video_codec().chroma == "400"
    recon, res, b = model.code_clip(foreman[:3, :64, :96], 28, Fraction(30))
    assert recon.shape == (3, 64, 96, 3) and b.shape == (3, 64, 96, 1) and res.nbytes > 0
    lowres = coding("lowres", 16.0)
    codec = lowres.real_video_codec()
    assert (codec.chroma, codec.colour) == ("444", "raw")
    recon, _, b = lowres.code_clip(foreman[:2, :64, :96], 30, Fraction(30))
    assert recon.shape == (2, 64, 96, 3) and b.shape == (2, 32, 48, 3)


def test_perceptual_bottleneck_goes_through_the_codecs_own_ycbcr(foreman: np.ndarray) -> None:
    """colour: ycbcr (perceptual): B is coded as plain x265 4:4:4 codes RGB, and the proxy models it."""
    model = coding("perceptual", 16.0)
    assert (model.real_video_codec().chroma, model.real_video_codec().colour) == ("444", "ycbcr")
    assert model.model.proxy.config()["colour"] == "ycbcr"
    clip = foreman[:3, :64, :96]
    anchor = VideoCodecMethod(
        CodecMethodConfig(name="x", kind="codec", codec="x265", options={"chroma": "444"}, rate_points=[30])
    ).run(Source("clip", clip, 8, Fraction(30)), 30)
    _, res, real_b = model.code_clip(clip, 30, Fraction(30), b=clip)  # B = S: exactly the anchor's stream
    assert res.nbytes == anchor.nbytes and np.array_equal(res.decoded, anchor.decoded)
    bits, proxy_b = model.proxy_estimate(clip, clip, 30)
    assert proxy_b.shape == real_b.shape == clip.shape
    assert bits.shape == (3,) and 0.5 < bits.sum() / (8 * res.nbytes) < 4
    err = np.mean((proxy_b.astype(float) - real_b.astype(float)) ** 2)
    assert 10 * np.log10(255**2 / err) > 30  # the proxy's decode is near the real one
    raw = coding("rgb444", 16.0)
    assert raw.real_video_codec().colour == "raw" and "colour" not in raw.model.proxy.config()


def test_starts_from_an_image_sandwich_checkpoint(tmp_path: Path) -> None:
    image = image_sandwich(SCENARIOS.get("gray400"), cfg(), 3, 20.0)
    torch.save({"model": image.state_dict()}, tmp_path / "final.pt")
    video = coding("gray400", 20.0)
    taken = video.load_image_checkpoint(tmp_path / "final.pt")
    assert taken and all(k.startswith(("pre.", "post.")) for k in taken)
    assert torch.equal(video.model.pre.mlp[0].weight, image.pre.mlp[0].weight)
    wider = coding("gray400", 20.0, pre={"unet": False, "hidden": 8})
    with pytest.raises(ValueError, match="does not fit"):
        wider.load_image_checkpoint(tmp_path / "final.pt")


def test_kbps_is_stream_bytes_at_the_real_frame_rate(foreman: np.ndarray) -> None:
    method = VideoCodecMethod(
        CodecMethodConfig(
            name="x", kind="codec", codec="x265", adapt="half_lanczos", options={"chroma": "444"}, rate_points=[30]
        )
    )
    clip = foreman[:4]
    at30 = method.run(Source("clip", clip, 8, Fraction(30)), 30)
    at60 = method.run(Source("clip", clip, 8, Fraction(60)), 30)
    assert at30.decoded.shape == clip.shape
    assert at30.extra["kbps"] == pytest.approx(8 * at30.nbytes * 30 / 4 / 1000)
    assert abs(at60.nbytes - at30.nbytes) <= 4  # same pictures; only the stream's timing info differs
    assert at60.extra["kbps"] == pytest.approx(8 * at60.nbytes * 60 / 4 / 1000)


def test_wrapped_calibration_counts_the_proxys_i_and_p_bits_as_x265s(foreman: np.ndarray) -> None:
    """A sandwich wrapping x265-half: per QP, the I and P ratios make the proxy's bits on the calibration
    clips equal x265's own (by type), P frames get their own ratio, the anchor's slope grows with QP,
    and the loss counts the proxy's I and P bits at those ratios."""
    from sandwich.video_train import anchor_calibration
    from sandwich.wrapped import WrappedCodec

    anchor = CodecMethodConfig(
        name="x265-half",
        kind="codec",
        codec="x265",
        adapt="half_lanczos",
        options={"chroma": "444"},
        rate_points=[27, 37],
    )
    scenario = SCENARIOS.get("lowres")
    wrapped = WrappedCodec.of(anchor, scenario.bottleneck, 3)
    net = {"encoder": [8], "decoder": [8, 8], "init": "conventional"}
    m = cfg(wraps="x265-half", lambdas=[1.0], pre=net, post=net)
    coder = VideoCoding(video_sandwich(scenario, m, 3, 1.0, wrapped), VideoSandwichConfig())
    sampler = ClipSampler([foreman], [], frames=4, crop=64)
    clips = [sampler.sample(np.random.default_rng(i)) for i in range(2)]
    calib = anchor_calibration(coder, m.train, clips, [22, 32, 42], "cpu", None)
    assert set(calib) == {22, 32, 42} and calib[42]["slope"] > calib[32]["slope"] > calib[22]["slope"] > 0
    for qp, c in calib.items():
        real = proxy = 0.0
        for frames, _ in clips:
            b = np.stack([np.clip(np.rint(wrapped.forward_float(f)), 0, 255).astype(np.uint8) for f in frames])
            res = VideoCodecMethod(anchor).run(Source("c", frames, 8, Fraction(25)), qp)
            real += 8.0 * res.nbytes
            coder.calibration = calib
            proxy += coder.calibrated_bits(coder.proxy_estimate(frames, b, qp)[0], qp) or 0.0
        assert proxy == pytest.approx(real, rel=1e-6)
        assert c["intra_ratio"] != pytest.approx(c["inter_ratio"], rel=0.05)
    batch = sampler.batch(2, np.random.default_rng(5), "cpu")
    coder.model.rate_point = 27
    plain = video_loss_terms(coder.model, batch, 1.0, m.train)
    weighted = video_loss_terms(coder.model, batch, 1.0, m.train, ratios=(2.0, 3.0))
    out = coder.model(*batch)
    elems = batch[0][0].numel()
    want = (2.0 * out.proxy.frame_bits[:, 0] + 3.0 * out.proxy.frame_bits[:, 1:].sum(1)) / elems
    assert float(weighted["rate_term"]) == pytest.approx(float(want.mean()), rel=1e-5)
    assert float(plain["rate_term"]) == pytest.approx(float((out.proxy.rate_bits / elems).mean()), rel=1e-5)
