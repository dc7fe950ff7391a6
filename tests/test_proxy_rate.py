"""Rate proxies against the real codecs (Pillow gray JPEG, x265) and their own definitions."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from PIL import Image

from bench.codecs.jpeg import encode_gray_flat
from proxies.calibration import JpegTarget, constant_bits, make_target, qp_to_step, real_bits, step_to_qp
from proxies.image_proxy import ImageProxy
from proxies.rate import CalibratedRate, quantised_laplace_entropy

CROPS = [(23, 192, 288), (1, 0, 0), (13, 256, 512)]  # (kodim, top, left), 96 x 128 each


@pytest.fixture(scope="module")
def gray_crops(kodim) -> np.ndarray:
    """Three 96 x 128 luma crops (textured, fine detail, foliage) as N x H x W uint8."""
    out = []
    for n, top, left in CROPS:
        rgb = kodim(n)[top : top + 96, left : left + 128]
        out.append(np.array(Image.fromarray(rgb).convert("L")))
    return np.stack(out)


def as_batch(planes: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(planes).float()[:, None]


def jpeg_bits(plane: np.ndarray, step: float) -> int:
    return 8 * len(encode_gray_flat(np.ascontiguousarray(plane), step))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(float) - b.astype(float)) ** 2)))


@pytest.mark.parametrize("step", [3.0, 11.0, 40.0])
def test_calibrated_forward_equals_real_jpeg_bits(gray_crops, step):
    out = ImageProxy(step=step).eval()(as_batch(gray_crops))
    for n, plane in enumerate(gray_crops):
        real = jpeg_bits(plane, step)
        assert abs(out.rate_bits[n].item() - real) / real < 1e-3
        assert out.header_bits[n].item() == constant_bits(make_target("jpeg"), 96, 128, step)


def test_multichannel_rate_is_the_sum_of_gray_jpegs(kodim):
    rgb = np.array(kodim(5)[:64, :80])
    out = ImageProxy(step=9.0)(torch.from_numpy(rgb).float().permute(2, 0, 1)[None])
    real = sum(jpeg_bits(rgb[:, :, c], 9.0) for c in range(3))
    assert out.real_bits.item() == real and abs(out.rate_bits.item() - real) / real < 1e-3


def test_420_charges_luma_and_half_size_chroma(kodim):
    rgb = torch.from_numpy(np.array(kodim(7)[:45, :61])).float().permute(2, 0, 1)[None]
    full = ImageProxy(step=6.0)(rgb)
    sub = ImageProxy(step=6.0, subsampling="420")(rgb)
    luma = jpeg_bits(kodim(7)[:45, :61, 0], 6.0)
    assert luma < sub.real_bits.item() < full.real_bits.item()
    assert abs(sub.rate_bits.item() - sub.real_bits.item()) / sub.real_bits.item() < 1e-3


def test_rate_falls_with_step(gray_crops):
    proxy = ImageProxy(step=10.0)
    out = proxy(as_batch(gray_crops))
    (grad,) = torch.autograd.grad(out.rate_bits.sum(), proxy.step_size.theta)
    assert grad < 0  # ∂R̂/∂Δ < 0 (∂Δ/∂θ = 1 for θ > 0)


def test_header_handling(gray_crops):
    x = as_batch(gray_crops)
    const_proxy = ImageProxy(step=10.0, rate=CalibratedRate("jpeg", header="constant"))
    none_proxy = ImageProxy(step=10.0, rate=CalibratedRate("jpeg", header="none"))
    assert const_proxy.config()["rate"] == "jpeg" == ImageProxy(rate="jpeg").config()["rate"]
    assert none_proxy.config()["rate"] == "jpeg:header=none"
    const, none = const_proxy(x), none_proxy(x)
    assert torch.equal(const.real_bits, none.real_bits)
    assert torch.allclose(none.rate_bits, none.real_bits) and torch.all(none.header_bits == 0)
    assert torch.all(const.header_bits > 0) and torch.all(const.header_bits < const.real_bits)
    # headers no longer inflate the gradient scale a = (R - b)/N
    a_const = (const.real_bits - const.header_bits) / const.log_count.detach()
    assert torch.all(a_const < none.real_bits / none.log_count.detach())


def test_constant_image_has_no_coefficients_but_keeps_its_bits():
    out = ImageProxy(step=8.0)(torch.full((1, 1, 40, 56), 128.0))
    assert out.log_count.item() == 0 and out.nonzeros.item() == 0
    assert out.rate_bits.item() == out.real_bits.item() == jpeg_bits(np.full((40, 56), 128, np.uint8), 8)


def test_stored_qtable_is_the_requested_flat_table(gray_crops):
    for step, entry in ((7.6, 8), (0.7, 1), (300.0, 255)):
        data = encode_gray_flat(gray_crops[0], step)
        assert dict(Image.open(io.BytesIO(data)).quantization) == {0: [entry] * 64}
        assert JpegTarget().bits(gray_crops[0], step) == 8 * len(data)


@pytest.mark.parametrize("step", [4.0, 12.0, 30.0])
def test_proxy_psnr_matches_real_gray_jpeg(gray_crops, step):
    out = ImageProxy(step=step).eval()(as_batch(gray_crops))
    for n, plane in enumerate(gray_crops):
        real = np.asarray(Image.open(io.BytesIO(encode_gray_flat(plane, step))))
        proxy = out.recon[n, 0].detach().numpy().astype(np.uint8)
        assert abs(psnr(plane, proxy) - psnr(plane, real)) < 0.3


def test_worker_pool_matches_serial(gray_crops):
    planes = list(gray_crops) * 2
    target = make_target("jpeg")
    assert real_bits(target, planes, 9.0, workers=2) == real_bits(target, planes, 9.0, workers=1)


@pytest.mark.parametrize("scale,step", [(0.3, 8.0), (2.0, 4.0), (5.0, 2.0), (40.0, 1.0)])
def test_quantised_laplace_entropy_matches_a_direct_sum(scale, step):
    k = np.arange(-4000, 4001)

    def cdf(v: np.ndarray) -> np.ndarray:
        return 0.5 + 0.5 * np.sign(v) * (1 - np.exp(-np.abs(v) / scale))

    pmf = cdf((k + 0.5) * step) - cdf((k - 0.5) * step)
    pmf = pmf[pmf > 0]
    direct = -(pmf * np.log(pmf)).sum()
    ours = quantised_laplace_entropy(torch.tensor(scale), torch.tensor(step)).item()
    assert ours == pytest.approx(direct, rel=1e-4, abs=1e-6)


def test_quantised_laplace_entropy_high_rate_limit():
    scale, step = torch.tensor(200.0), torch.tensor(1.0)
    limit = math.log(2 * math.e * 200.0)  # h(Laplace) - ln Δ
    assert quantised_laplace_entropy(scale, step).item() == pytest.approx(limit, abs=1e-3)


@pytest.mark.slow  # real JPEG bits of every crop
@pytest.mark.parametrize("rate", ["gaussian", "laplacian"])
def test_calibration_free_rates_track_jpeg(gray_crops, rate):
    """No codec call, yet within a factor 1.5 of the real bits and falling with Δ."""
    x = as_batch(gray_crops)
    proxy = ImageProxy(rate=rate).eval()
    fine, coarse = proxy(x, step=4.0), proxy(x, step=16.0)
    assert torch.all(coarse.rate_bits < fine.rate_bits) and fine.real_bits is None
    for n, plane in enumerate(gray_crops):
        ratio = coarse.rate_bits[n].item() / jpeg_bits(plane, 16.0)
        assert 1 / 1.5 < ratio < 1.5


def test_hevc_step_qp_mapping():
    assert [step_to_qp(s) for s in (1, 2, 4, 8, 16, 32)] == [4, 10, 16, 22, 28, 34]
    assert qp_to_step(22) == pytest.approx(8.0)
    assert step_to_qp(1e6) == 51 and step_to_qp(0.01) == 0
    for qp in range(52):
        assert step_to_qp(qp_to_step(qp)) == qp


def test_calibrated_to_real_hevc(gray_crops):
    """x265 intra 4:0:0 as the rate target: forward == its bits; coarser Δ, fewer bits."""
    x = as_batch(gray_crops[:2, :64, :64])
    proxy = ImageProxy(rate="hevc").eval()
    fine, coarse = proxy(x, step=4.0), proxy(x, step=16.0)
    assert torch.all(coarse.real_bits < fine.real_bits)
    assert torch.allclose(fine.rate_bits, fine.real_bits, rtol=1e-3)
    hevc = make_target("hevc")
    assert fine.real_bits[0].item() == hevc.bits(np.ascontiguousarray(gray_crops[0, :64, :64]), 4.0)
