"""Block DCT, symmetric padding and the resamplers against their definitions and Pillow."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from proxies.dct import block_dct, block_idct, dct_matrix, pad_symmetric
from proxies.image_proxy import ImageProxy
from proxies.resample import downsample2, lanczos3_up2


def test_dct_matrix_is_orthonormal_and_jpeg_scaled():
    d = dct_matrix().double()
    assert torch.allclose(d @ d.T, torch.eye(8, dtype=torch.float64), atol=1e-6)
    # JPEG FDCT of a constant block v: DC = 8 v (F(0,0) = 1/4 * C(0)^2 * 64 v), ACs 0.
    coeffs = block_dct(torch.full((1, 1, 8, 8), 3.0))
    assert coeffs[0, 0, 0, 0, 0, 0].item() == pytest.approx(24.0, abs=1e-5)
    assert coeffs[0, 0, 0, 0].flatten()[1:].abs().max() < 1e-5


def test_dct_round_trip_and_energy():
    x = torch.rand(2, 3, 24, 40, generator=torch.Generator().manual_seed(0)) * 255 - 128
    coeffs = block_dct(x)
    assert coeffs.shape == (2, 3, 3, 5, 8, 8)
    assert (block_idct(coeffs) - x).abs().max() < 1e-4
    assert torch.allclose((coeffs**2).sum(), (x**2).sum(), rtol=1e-5)  # Parseval


def test_block_dct_refuses_partial_blocks():
    with pytest.raises(ValueError, match="pad first"):
        block_dct(torch.zeros(1, 1, 12, 16))


def test_bypass_proxy_reproduces_integer_input():
    x = torch.randint(0, 256, (2, 3, 21, 35), generator=torch.Generator().manual_seed(1)).float()
    proxy = ImageProxy(quantizer="none", rate="gaussian")
    assert (proxy(x).recon - x).abs().max() < 1e-4


@pytest.mark.parametrize("size", [1, 3, 7, 8, 13])
def test_pad_symmetric_mirrors_with_the_edge(size):
    x = torch.arange(size, dtype=torch.float32).reshape(1, 1, 1, size)
    padded = pad_symmetric(x, 8)[0, 0, 0].tolist()
    assert len(padded) % 8 == 0 and padded[:size] == list(range(size))
    sym = np.pad(np.arange(size), (0, len(padded) - size), mode="symmetric")
    assert padded == sym.tolist()


def pil_resize(a: np.ndarray, size: tuple[int, int], method: int) -> np.ndarray:
    return np.asarray(Image.fromarray(a.astype(np.float32), mode="F").resize(size, method))


@pytest.mark.parametrize("h,w", [(1, 3), (5, 7), (37, 64)])
def test_lanczos3_up2_matches_pillow_float(h, w):
    """Same taps, same edge renormalisation: only float32 vs double accumulation differs,
    ~1e-7 relative, so 1e-3 on the 0..255 scale is a loose bound (measured 6e-5)."""
    a = np.random.default_rng(h * w).uniform(0, 255, (h, w))
    ours = lanczos3_up2(torch.from_numpy(a).float()[None, None])[0, 0].numpy()
    assert np.abs(ours - pil_resize(a, (2 * w, 2 * h), Image.LANCZOS)).max() < 1e-3


def test_lanczos3_up2_matches_pillow_uint8_within_one_level(kodim):
    """Pillow's 8-bit path rounds and clips between its horizontal and vertical passes, which
    moves a result by at most one grey level after our single final rounding."""
    gray = np.array(Image.fromarray(kodim(23, (96, 128))).convert("L"))
    ref = np.asarray(Image.fromarray(gray).resize((256, 192), Image.LANCZOS)).astype(int)
    ours = lanczos3_up2(torch.from_numpy(gray).float()[None, None])[0, 0]
    diff = np.abs(ours.round().clamp(0, 255).numpy().astype(int) - ref)
    assert diff.max() <= 1 and (diff > 0).mean() < 0.5


@pytest.mark.parametrize("kernel,method", [("bilinear", Image.BILINEAR), ("bicubic", Image.BICUBIC)])
def test_downsample2_matches_pillow_reduce(kernel, method):
    a = np.random.default_rng(3).uniform(0, 255, (18, 26))
    ours = downsample2(torch.from_numpy(a).float()[None, None], kernel)[0, 0].numpy()
    assert np.abs(ours - pil_resize(a, (13, 9), method)).max() < 1e-3


def test_resamplers_are_differentiable():
    x = torch.rand(1, 2, 8, 10, requires_grad=True)
    (lanczos3_up2(downsample2(x)) ** 2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
