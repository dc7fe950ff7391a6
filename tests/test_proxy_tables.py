"""The proxy with a standard-table JPEG's own quantisation tables, against that real JPEG."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.codecs import CODECS
from bench.config import CodecMethodConfig
from bench.scenarios import SCENARIOS
from proxies.image_proxy import ImageProxy
from sandwich.wrapped import WrappedCodec


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


@pytest.mark.parametrize(("chroma", "quality"), [("444", 30), ("444", 85), ("420", 50), ("420", 90)])
def test_table_proxy_decodes_like_the_real_jpeg(kodim, chroma: str, quality: int) -> None:
    """Same tables, colour transform and chroma format: the proxy's B̂ is within a fraction of a dB of
    libjpeg's (4:2:0 differs in the chroma resamplers only), and its forward rate is the per-plane real bits."""
    src = kodim(7)[:128, :192]
    cfg = CodecMethodConfig(
        name="a",
        kind="codec",
        codec="jpeg",
        rate_points=[quality],
        options={"mode": "rgb", "chroma": chroma, "tables": "standard"},
    )
    wrapped = WrappedCodec.of(cfg, SCENARIOS.get("rgb420" if chroma == "420" else "perceptual").bottleneck, 3)
    proxy = ImageProxy(subsampling=wrapped.subsampling, colour=wrapped.colour, learn_step=False).eval()
    with torch.no_grad():
        out = proxy(torch.from_numpy(src.astype(np.float32)).permute(2, 0, 1)[None], wrapped.steps(quality, 3))
    mine = out.recon[0].permute(1, 2, 0).numpy()
    real = CODECS.build("jpeg", mode="rgb", chroma=chroma, tables="standard").encode_image(src, quality, 8)
    gap = abs(_psnr(src, mine) - _psnr(src, real.decoded))
    assert gap < (0.35 if chroma == "420" else 0.15), gap
    assert _psnr(real.decoded, mine) > 38
    ratio = float(out.rate_bits[0]) / (8 * real.nbytes)
    assert 0.9 < ratio < 1.6, ratio  # per-plane gray JPEGs: one header each instead of one for all


def test_tables_follow_libjpeg_scaling() -> None:
    cfg = CodecMethodConfig(
        name="a",
        kind="codec",
        codec="jpeg",
        rate_points=[50],
        options={"mode": "gray", "tables": "standard"},
        adapt="luma",
    )
    wrapped = WrappedCodec.of(cfg, SCENARIOS.get("gray400").bottleneck, 3)
    t50, t10 = wrapped.steps(50, 1), wrapped.steps(10, 1)
    assert t50.shape == (1, 8, 8) and t50[0, 0, 0] == 16 and t50[0, 7, 7] == 99  # Annex K at q50
    assert t10[0, 0, 0] == 80  # scale 5000/10 = 500 %


def test_unrounded_rate_gradient_reaches_zero_coefficients() -> None:
    """Same forward rate (the real bits); the count Σ ln(1+|X/Δ|) also has a gradient where every
    coefficient rounds to 0, and the calibrated rate's gradient is nonzero on a textured patch."""
    torch.manual_seed(0)
    flat = (128 + 2 * torch.randn(1, 1, 16, 16)).requires_grad_()
    textured = (128 + 30 * torch.randn(1, 1, 16, 16)).requires_grad_()
    out = {m: ImageProxy(step=20.0, learn_step=False, rate_gradient=m) for m in ("rounded", "unrounded")}
    count_grad = {m: torch.autograd.grad(p(flat).log_count.sum(), flat)[0] for m, p in out.items()}
    assert count_grad["rounded"].abs().sum() == 0 and count_grad["unrounded"].abs().sum() > 0
    rates = {m: p(textured) for m, p in out.items()}
    assert float(rates["rounded"].rate_bits[0]) == float(rates["unrounded"].rate_bits[0])
    assert torch.autograd.grad(rates["unrounded"].rate_bits.sum(), textured)[0].abs().sum() > 0


def test_wrapping_a_codec_that_does_not_fit_the_bottleneck_is_refused() -> None:
    cfg = CodecMethodConfig(
        name="j",
        kind="codec",
        codec="jpeg",
        rate_points=[50],
        options={"mode": "rgb", "chroma": "444", "tables": "standard"},
    )
    with pytest.raises(ValueError, match="starts from luma"):
        WrappedCodec.of(cfg, SCENARIOS.get("gray400").bottleneck, 3)
    hevc = CodecMethodConfig(name="h", kind="codec", codec="hevc", rate_points=[30], options={"chroma": "420"})
    with pytest.raises(ValueError, match=r"model JPEG \(images\) and x265, x264 \(video\)"):
        WrappedCodec.of(hevc, SCENARIOS.get("rgb420").bottleneck, 3)
    x265_420 = CodecMethodConfig(name="v", kind="codec", codec="x265", rate_points=[30], options={"chroma": "420"})
    with pytest.raises(ValueError, match="needs chroma 444"):
        WrappedCodec.of(x265_420, SCENARIOS.get("perceptual").bottleneck, 3)
