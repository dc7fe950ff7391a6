"""A tiny sandwich trained for a few steps through the real-calibrated proxy, checked with the real codec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bench.config import SandwichMethodConfig
from bench.scenarios import SCENARIOS
from sandwich.model import image_sandwich
from sandwich.train import loss_terms, real_check, train


class Log:
    def __init__(self) -> None:
        self.rows: list[tuple[int, dict[str, float]]] = []
        self.tag: dict[str, str] = {}

    def metrics(self, values: dict[str, float], step: int) -> None:
        self.rows.append((step, values))

    def model(self, folder: Path) -> None:
        pass

    def tags(self, values: dict[str, str]) -> None:
        self.tag.update(values)


def cfg(gamma: float, steps: int, **train) -> SandwichMethodConfig:
    net = {"encoder": [8], "decoder": [8, 8], "alpha0": 1.0}
    return SandwichMethodConfig.model_validate(
        {
            "name": "t",
            "kind": "sandwich",
            "lambdas": [gamma],
            "pre": net,
            "post": net,
            "train": {
                "steps": steps,
                "batch": 4,
                "crop": 48,
                "lr": 5e-3,
                "step_init": 8,
                "log_every": 1,
                "check_every": steps,
                "checkpoint_every": 5,
                **train,
            },
        }
    )


@pytest.fixture(scope="module")
def images(kodim) -> list[np.ndarray]:
    return [kodim(n)[:160, :160] for n in (3, 5, 19)]


@pytest.mark.slow  # real training
def test_loss_falls_and_bits_respond_to_lambda(images, tmp_path: Path) -> None:
    scenario = SCENARIOS.get("gray400")
    bits = {}
    for gamma in (5.0, 5000.0):
        c = cfg(gamma, 30)
        torch.manual_seed(0)
        model = image_sandwich(scenario, c, 3, step=8.0)
        log = Log()
        res = train(
            model,
            c.train,
            gamma,
            images,
            device="cpu",
            seed=0,
            workdir=tmp_path / f"g{gamma:g}",
            log=log,
            name=f"g{gamma:g}",
        )
        losses = [v["loss"] for _, v in log.rows if "loss" in v]
        assert np.mean(losses[-8:]) < 0.8 * np.mean(losses[:8]), losses
        assert res.checks and res.checks[-1]["real_bpp"] > 0
        ratios = [v["check_proxy_real_rate_ratio"] for _, v in log.rows if "check_proxy_real_rate_ratio" in v]
        assert ratios and all(0.5 < r < 2 for r in ratios), ratios  # logged next to the real check
        recon, coded, b = model.code_real(images[0][:128, :128], 8, "cpu")
        assert b.shape == (128, 128, 1) and recon.shape == (128, 128, 3)
        bits[gamma] = 8 * coded.nbytes
    assert bits[5000.0] < 0.8 * bits[5.0], bits


class Interrupt(Log):
    """Stops training (like Ctrl-C) when step ``at`` is logged."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def metrics(self, values: dict[str, float], step: int) -> None:
        if step == self.at:
            raise KeyboardInterrupt
        super().metrics(values, step)


@pytest.mark.slow  # real training
def test_interrupted_training_resumes_to_the_same_weights(images, tmp_path: Path) -> None:
    scenario = SCENARIOS.get("gray400")
    c = cfg(300.0, 10)
    torch.manual_seed(0)
    straight = image_sandwich(scenario, c, 3, step=8.0)
    train(straight, c.train, 300.0, images, device="cpu", seed=0, workdir=tmp_path / "a", log=Log(), name="a")
    torch.manual_seed(0)
    first = image_sandwich(scenario, c, 3, step=8.0)
    with pytest.raises(KeyboardInterrupt):
        train(first, c.train, 300.0, images, device="cpu", seed=0, workdir=tmp_path / "b", log=Interrupt(7), name="b")
    assert (tmp_path / "b" / "checkpoint.pt").is_file() and not (tmp_path / "b" / "final.pt").exists()
    torch.manual_seed(1)  # a different init: everything must come from the checkpoint
    resumed = image_sandwich(scenario, c, 3, step=8.0)
    log = Log()
    train(resumed, c.train, 300.0, images, device="cpu", seed=0, workdir=tmp_path / "b", log=log, name="b")
    assert [s for s, v in log.rows if "loss" in v][0] == 6  # picked up after the step-5 checkpoint
    for p, q in zip(straight.parameters(), resumed.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-5), (p - q).abs().max()
    # a finished model is loaded, not retrained
    again = image_sandwich(scenario, c, 3, step=8.0)
    res = train(again, c.train, 300.0, images, device="cpu", seed=0, workdir=tmp_path / "a", log=Log(), name="a")
    assert res.steps == 10 and all(
        torch.equal(p, q) for p, q in zip(straight.parameters(), again.parameters(), strict=True)
    )


@pytest.mark.slow  # a U-Net sandwich through the proxy and the real codec
def test_proxy_and_real_codec_agree_on_a_fresh_model(images) -> None:
    c = cfg(300.0, 1)
    model = image_sandwich(SCENARIOS.get("gray400"), c, 3, step=8.0)
    check = real_check(model, [images[1][:128, :128]], "cpu")
    assert "real_lpips" not in check
    assert abs(check["real_psnr"] - check["proxy_psnr"]) < 0.5
    assert abs(check["real_bpp"] - check["proxy_bpp"]) / check["real_bpp"] < 0.02
    terms = loss_terms(
        model, torch.from_numpy(images[1][None, :64, :64].astype(np.float32)).permute(0, 3, 1, 2), 300.0, c.train
    )
    assert terms["loss"].requires_grad and float(terms["rate_term"].detach()) > 0


@pytest.mark.slow  # a training step and real codes per scenario
@pytest.mark.parametrize("name", ["rgb444", "rgb420", "lowres", "hdr", "multichannel"])
def test_every_sandwich_scenario_trains_a_step_and_codes_for_real(name: str, images) -> None:
    scenario = SCENARIOS.get(name)
    src = images[0][:64, :66]
    if name == "hdr":
        src = (src.astype(np.uint16) << 8) | src
    if name == "multichannel":
        src = np.concatenate([src, src[:, :, :2]], axis=2)  # 5 channels
    c = cfg(300.0, 1)
    model = image_sandwich(scenario, c, src.shape[2], step=8.0)
    terms = loss_terms(model, torch.from_numpy(src[None].astype(np.float32)).permute(0, 3, 1, 2), 300.0, c.train)
    terms["loss"].backward()
    recon, coded, b = model.code_real(src, 8, "cpu")
    assert recon.shape == src.shape and recon.dtype == src.dtype
    factor = scenario.bottleneck.factor
    assert b.shape[:2] == (-(-64 // factor), -(-66 // factor)) and b.dtype == np.uint8
    assert coded.nbytes > 0


@pytest.mark.slow  # real training
def test_post_only_trains_on_the_real_decoders_output(images, tmp_path: Path) -> None:
    """codec_in_loop: real — g sees exactly what the real JPEG decodes, and learns colour from it."""
    c = SandwichMethodConfig.model_validate(
        {
            "name": "p",
            "kind": "sandwich",
            "role": "post_only",
            "lambdas": [300],
            "post": {"encoder": [8], "decoder": [8, 8], "alpha0": 1.0},
            "train": {
                "steps": 40,
                "batch": 4,
                "crop": 48,
                "lr": 5e-3,
                "step_init": 8,
                "log_every": 1,
                "check_every": 40,
                "codec_in_loop": "real",
            },
        }
    )
    model = image_sandwich(SCENARIOS.get("gray400"), c, 3, step=8.0)
    src = images[2][:48, :48]
    out, via_proxy = model.forward_real(torch.from_numpy(src[None].astype(np.float32)).permute(0, 3, 1, 2))
    assert via_proxy is None  # no f: g alone, on the real decoder's output
    real = model.real_codec().encode_image(model.bottleneck_image(src), 8, 8)
    assert np.array_equal(out.proxy.recon[0, 0].detach().numpy(), real.decoded[..., 0].astype(np.float32))
    assert float(out.proxy.rate_bits[0]) == 8 * real.nbytes
    log = Log()
    train(model, c.train, 300.0, images, device="cpu", seed=0, workdir=tmp_path, log=log, name="p")
    mse = [v["mse"] for _, v in log.rows if "mse" in v]
    assert np.mean(mse[-8:]) < 0.8 * np.mean(mse[:8]), mse


@pytest.mark.slow  # training steps through the real codec
@pytest.mark.parametrize("straight_through", [False, True])
def test_real_codec_in_the_loop_reaches_the_pre_processor(images, straight_through: bool) -> None:
    """codec_in_loop real / real_ste for the full sandwich: g is fed the real decoder's B̂, and f
    still gets a gradient (through the proxy pass, or straight through it)."""
    c = cfg(300.0, 1, codec_in_loop="real_ste" if straight_through else "real")
    model = image_sandwich(SCENARIOS.get("gray400"), c, 3, step=8.0)
    src = images[1][:48, :48]
    out, via_proxy = model.forward_real(
        torch.from_numpy(src[None].astype(np.float32)).permute(0, 3, 1, 2), straight_through=straight_through
    )
    assert (via_proxy is None) == straight_through
    real = model.real_codec().encode_image(model.bottleneck_image(src), 8, 8)
    assert np.array_equal(out.proxy.recon[0].detach().permute(1, 2, 0).numpy(), real.decoded.astype(np.float32))
    loss = out.recon.square().mean() + (via_proxy.square().mean() if via_proxy is not None else 0)
    loss.backward()
    assert model.pre is not None
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.pre.parameters())


def test_rgb420_ablations_use_the_codecs_own_ycbcr_path(images) -> None:
    """post_only codes YCbCr 4:2:0 (not raw RGB 4:2:0); pre_only's standard decoder converts back."""
    net = {"encoder": [8], "decoder": [8, 8]}
    base = {"name": "a", "kind": "sandwich", "lambdas": [300], "pre": net, "post": net}
    post = image_sandwich(
        SCENARIOS.get("rgb420"), SandwichMethodConfig.model_validate({**base, "role": "post_only"}), 3, 8.0
    )
    pre = image_sandwich(
        SCENARIOS.get("rgb420"), SandwichMethodConfig.model_validate({**base, "role": "pre_only"}), 3, 8.0
    )
    src = images[0][:32, :32]
    s = torch.from_numpy(src[None].astype(np.float32)).permute(0, 3, 1, 2)
    ycc = post.encode_side(s)[0].permute(1, 2, 0).numpy()
    from bench.colour import rgb_to_jfif

    assert np.allclose(ycc, rgb_to_jfif(src, 8), atol=1e-3)
    back = pre.decode_side(torch.from_numpy(ycc).permute(2, 0, 1)[None], (32, 32))[0].permute(1, 2, 0).numpy()
    assert np.allclose(back, src, atol=1e-3)


@pytest.mark.slow  # real codes of every rate point per scenario
@pytest.mark.parametrize("name", ["hdr", "gray400", "lowres"])
def test_conventional_start_codes_like_the_baseline(name: str, images) -> None:
    """init: conventional — before any training the sandwich is the usual adaptation
    (8 MSBs / luma / ↓2) around the same real codec, so training starts at the baseline, not below it."""
    net = {"encoder": [8], "decoder": [8, 8], "alpha0": 1.0, "init": "conventional"}
    c = SandwichMethodConfig.model_validate({"name": "c", "kind": "sandwich", "lambdas": [30], "pre": net, "post": net})
    scenario = SCENARIOS.get(name)
    src = images[1][:64, :64]
    if name == "hdr":
        src = (src.astype(np.uint16) << 8) | images[2][:64, :64]
    model = image_sandwich(scenario, c, 3, step=1.0)
    conv = image_sandwich(scenario, c.model_copy(update={"role": "post_only"}), 3, step=1.0)  # f = the usual map
    b, b_ref = model.bottleneck_image(src), conv.bottleneck_image(src)
    assert np.abs(b.astype(int) - b_ref.astype(int)).max() <= 1
    peak = (1 << scenario.bitdepth) - 1
    recon, _, _ = model.code_real(src, 1)
    err = np.sqrt(np.mean((recon.astype(float) - src.astype(float)) ** 2)) / peak
    limit = {"hdr": 2e-3, "gray400": 0.2, "lowres": 0.1}[name]  # MSB mid-point / missing colour / blur
    assert err < limit, err
    # ... and the U-Nets (last layer at zero, alpha 1) get gradients from the first step
    s = torch.from_numpy(src.astype(np.float32)).permute(2, 0, 1)[None]
    loss_terms(model, s, 30.0, c.train)["loss"].backward()
    for p in (model.pre, model.post):
        assert float(p.unet.head.weight.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match="U-Net would never train"):
        SandwichMethodConfig.model_validate(
            {"name": "c", "kind": "sandwich", "lambdas": [30], "pre": {**net, "alpha0": 0.0}}
        )


@pytest.mark.slow  # real training
def test_cosine_schedule_ends_near_zero_lr(images, tmp_path: Path) -> None:
    """lr_schedule cosine: the lr follows lr·(1 + cos(π·step/steps))/2 from the step count (so a resumed
    run continues the same curve); the last of 20 steps runs below 1 % of the start."""
    c = cfg(60.0, 20, lr_schedule="cosine")
    model = image_sandwich(SCENARIOS.get("gray400"), c, 3, step=8.0)
    seen: list[float] = []
    orig = torch.optim.Adam.step

    def spy(self, *a, **k):  # record the lr each step uses
        seen.append(self.param_groups[0]["lr"])
        return orig(self, *a, **k)

    torch.optim.Adam.step = spy
    try:
        train(model, c.train, 60.0, images, device="cpu", seed=0, workdir=tmp_path, log=Log(), name="t")
    finally:
        torch.optim.Adam.step = orig
    assert seen[0] == pytest.approx(c.train.lr)
    assert seen == sorted(seen, reverse=True) and seen[-1] < 0.01 * c.train.lr


def test_yuv611_distortion_weighs_planes_like_psnr_yuv(images) -> None:
    """yuv611 = (6·MSE_Y + MSE_Cb + MSE_Cr) / 8 on JFIF YCbCr, checked against the metric's own conversion."""
    from bench.metrics.psnr import rgb_to_ycbcr
    from sandwich.train import squared_error

    ref = images[0][:32, :32].astype(np.float64)
    rng = np.random.default_rng(1)
    dist = np.clip(ref + rng.normal(0, 6, ref.shape) + [8.0, -4.0, 0.0], 0, 255)
    planes = [np.mean((a - b) ** 2) for a, b in zip(rgb_to_ycbcr(ref, 8), rgb_to_ycbcr(dist, 8), strict=True)]
    want = (6 * planes[0] + planes[1] + planes[2]) / 8
    to_t = lambda a: torch.from_numpy(a.astype(np.float32)).permute(2, 0, 1)[None]  # noqa: E731
    got = float(squared_error(to_t(ref), to_t(dist), "yuv611")[0])
    assert got == pytest.approx(want, rel=1e-4)
    assert float(squared_error(to_t(ref), to_t(dist), "rgb")[0]) == pytest.approx(np.mean((ref - dist) ** 2), rel=1e-4)
    with pytest.raises(ValueError, match="yuv611 needs RGB"):
        squared_error(to_t(ref[..., :1]), to_t(dist[..., :1]), "yuv611")


def test_psnr_yuv_loss_is_minus_the_metric_per_frame(images) -> None:
    """psnr-yuv = −(6·PSNR_Y + PSNR_Cb + PSNR_Cr)/8 per frame (MSE floored by PSNR_EPS), averaged over a
    clip's frames as psnr-yuv scores a sequence; checked against the metric's own conversion."""
    from bench.metrics.psnr import psnr_yuv, rgb_to_ycbcr
    from sandwich.train import PSNR_EPS, distortion_term

    rng = np.random.default_rng(2)
    ref = np.stack([images[0][:32, :32], images[1][:32, :32]]).astype(np.float64)
    dist = np.rint(np.clip(ref + rng.normal(0, [[[[4.0]]], [[[12.0]]]], ref.shape) + [6.0, -3.0, 0.0], 0, 255))

    def frame_db(a: np.ndarray, b: np.ndarray) -> float:
        mse = [np.mean((p - q) ** 2) for p, q in zip(rgb_to_ycbcr(a, 8), rgb_to_ycbcr(b, 8), strict=True)]
        db = [10 * np.log10(255.0**2 / (m + PSNR_EPS)) for m in mse]
        return (6 * db[0] + db[1] + db[2]) / 8

    to_t = lambda a: torch.from_numpy(a.astype(np.float32)).permute(0, 3, 1, 2)  # noqa: E731
    clip_loss, _ = distortion_term(to_t(ref)[None], to_t(dist)[None], "psnr-yuv")  # 1 clip of 2 frames
    assert float(clip_loss[0]) == pytest.approx(
        -np.mean([frame_db(a, b) for a, b in zip(ref, dist, strict=True)]), abs=1e-3
    )
    image_loss, mse = distortion_term(to_t(ref), to_t(dist), "psnr-yuv")  # 2 images
    assert [float(v) for v in image_loss] == pytest.approx(
        [-frame_db(a, b) for a, b in zip(ref, dist, strict=True)], abs=1e-3
    )
    # the floor is small next to real errors: within 0.1 dB of the metric here
    metric = psnr_yuv(ref[1].astype(np.uint8), dist[1].astype(np.uint8), 8)
    assert float(image_loss[1]) == pytest.approx(-metric, abs=0.1)
    assert [float(v) for v in mse] == pytest.approx(
        [float(v) for v in distortion_term(to_t(ref), to_t(dist), "yuv611")[0]]
    )


def test_the_experiment_seed_fixes_the_initial_weights() -> None:
    """torch seeds its generator randomly per process; the plan must not depend on that."""
    from bench.config import load_config
    from bench.plan import build_plan

    cfg = load_config(Path(__file__).resolve().parent.parent / "experiments" / "lowres.yaml", profile="quick")

    def weights(seed: int) -> list[torch.Tensor]:
        torch.manual_seed(seed)  # a different global state each time
        sandwich = next(m for m in build_plan(cfg).methods if m.name.startswith("sandwich."))
        return [p.detach().clone() for p in sandwich.model.parameters()]

    first, second = weights(1), weights(2)
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    after_build = torch.rand(1)  # the build left the global generator where seed 2 put it
    torch.manual_seed(2)
    assert torch.equal(torch.rand(1), after_build)
    other = build_plan(cfg.model_copy(update={"seed": 1})).methods
    changed = next(m for m in other if m.name.startswith("sandwich.")).model
    assert not all(torch.equal(a, b) for a, b in zip(first, changed.parameters(), strict=True))


def test_flags_follow_what_the_run_minimises() -> None:
    """The "did not improve" flag reads LPIPS for LPIPS-trained runs and PSNR-YUV for the YUV losses."""
    from bench.config import TrainConfig
    from sandwich.train import check_objective, training_flags

    model = image_sandwich(SCENARIOS.get("rgb444"), cfg(60.0, 10), 3, step=8.0)
    checks = [
        {"real_psnr": 30.0, "real_psnr_yuv": 33.0, "real_lpips": 0.20, "real_step": 8.0},
        {"real_psnr": 29.5, "real_psnr_yuv": 33.5, "real_lpips": 0.15, "real_step": 8.0},
    ]
    lp, yuv, plain = (TrainConfig(lpips_weight=500), TrainConfig(distortion="psnr-yuv"), TrainConfig())
    assert check_objective(lp, checks[0]) == ("real_lpips", "LPIPS-alex", False)
    assert check_objective(yuv, checks[0])[0] == "real_psnr_yuv"
    assert training_flags(model, lp, checks, []) == []  # LPIPS fell: improved, though PSNR fell
    assert training_flags(model, yuv, checks, []) == []  # PSNR-YUV rose by 0.5 dB
    assert "real-codec PSNR ended below where training started" in training_flags(model, plain, checks, [])[0]
    flat = [checks[0], {**checks[1], "real_psnr": 30.05}]
    assert "real-codec PSNR did not improve" in training_flags(model, plain, flat, [])[0]
    worse = [checks[0], {**checks[1], "real_lpips": 0.2}]
    assert "real-codec LPIPS-alex did not improve" in training_flags(model, lp, worse, [])[0]
    worse = [checks[0], {**checks[1], "real_lpips": 0.25}]
    assert "LPIPS-alex ended below where training started" in training_flags(model, lp, worse, [])[0]


@pytest.mark.slow  # LPIPS of real-codec checks
def test_real_check_measures_lpips_for_lpips_trained_runs(images) -> None:
    from bench.metrics.lpips import get_lpips, lpips_distance
    from sandwich.train import real_check

    model = image_sandwich(SCENARIOS.get("rgb444"), cfg(60.0, 1), 3, step=8.0)
    crop = images[1][:64, :64]
    check = real_check(model, [crop], "cpu", get_lpips("alex", "cpu"))
    recon, _, _ = model.code_real(crop, 8, "cpu")
    assert check["real_lpips"] == pytest.approx(lpips_distance(crop, recon, "alex"), abs=1e-4)
