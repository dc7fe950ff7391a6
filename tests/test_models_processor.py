"""The sin-MLP + α·U-Net processor: the α = 0 start, gradient flow, shapes, resampling, bf16."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from proxies.resample import downsample2, lanczos3_up2
from sandwich.nets import SLIM_DECODER, SLIM_ENCODER, Processor, count_params

SMALL = {"encoder": [8, 8], "decoder": [8, 8, 8]}


@pytest.fixture(autouse=True)
def seeded_single_thread() -> Iterator[None]:
    """Fixed weight init (tiny random ReLU nets can come out dead, i.e. constant), and one
    thread: these tensors are tiny, and OpenMP threads spin for seconds on a busy 2-core box."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pixels(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 255


def test_alpha_zero_output_is_exactly_the_mlp_branch():
    proc = Processor(3, 3, **SMALL)
    x = pixels(2, 3, 24, 20)
    mlp_only = proc.s * proc.mlp((x - proc.m) / proc.s) + proc.m
    assert proc.alpha.item() == 0.0
    assert torch.equal(proc(x), mlp_only)
    assert proc.unet(x).abs().max() > 0  # the U-Net branch is live, just scaled by α = 0


def test_mlp_only_processor():
    proc = Processor(3, 1, None, None, mlp_depth=2)
    assert proc.unet is None and proc.alpha is None
    assert count_params(proc) == (3 * 16 + 16) + (16 * 16 + 16) + (16 + 1)
    assert proc(pixels(1, 3, 5, 7)).shape == (1, 1, 5, 7)


def _loss(proc: Processor) -> torch.Tensor:
    x = pixels(2, 3, 16, 16, seed=1)
    return ((proc(x) - x) ** 2).mean()


def _unet_grad_norm(proc: Processor) -> float:
    grads = [p.grad for p in proc.unet.parameters()]
    assert all(g is not None for g in grads)  # in the graph, even when the values are zero
    return sum(g.abs().sum().item() for g in grads)


def test_alpha_zero_start_trains_alpha_first_then_the_unet():
    """∂L/∂α = s·⟨∂L/∂out, UNet(x̃)⟩ ≠ 0 (random head), ∂L/∂θ_UNet = α·(…) = 0 on step 1;
    once a step moves α off zero the U-Net gets gradients (processor module docstring)."""
    proc = Processor(3, 3, **SMALL, alpha0=0.0)
    _loss(proc).backward()
    assert proc.alpha.grad.abs() > 0
    assert _unet_grad_norm(proc) == 0.0
    assert all(p.grad.abs().sum() > 0 for p in proc.mlp.parameters())

    torch.optim.SGD(proc.parameters(), lr=1e-3).step()
    assert proc.alpha.item() != 0.0
    proc.zero_grad()
    _loss(proc).backward()
    assert _unet_grad_norm(proc) > 0


def test_zero_head_with_zero_alpha_is_dead_forever():
    """METHOD §2's warning: α0 = 0 and a zero-initialised U-Net head get no gradient at all,
    which is why Processor keeps the head's random init."""
    proc = Processor(3, 3, **SMALL, alpha0=0.0)
    torch.nn.init.zeros_(proc.unet.head.weight)
    torch.nn.init.zeros_(proc.unet.head.bias)
    _loss(proc).backward()
    assert proc.alpha.grad.item() == 0.0 and _unet_grad_norm(proc) == 0.0


def test_alpha_one_trains_the_unet_at_once():
    proc = Processor(3, 3, **SMALL, alpha0=1.0)
    _loss(proc).backward()
    assert proc.alpha.item() == 1.0 and _unet_grad_norm(proc) > 0


@pytest.mark.parametrize("in_ch,out_ch", [(3, 1), (3, 3), (1, 3), (5, 5)])
@pytest.mark.parametrize("resample,out_hw", [("none", (67, 93)), ("down2", (34, 47)), ("up2", (134, 186))])
def test_shapes(in_ch, out_ch, resample, out_hw):
    """67x93: down2 replicate-pads odd sides to even first (ceil), up2 doubles."""
    proc = Processor(in_ch, out_ch, SLIM_ENCODER, SLIM_DECODER, resample=resample)
    out = proc(pixels(2, in_ch, 67, 93))
    assert out.shape == (2, out_ch, *out_hw) and out.dtype == torch.float32


def test_odd_source_round_trip_crops_back():
    pre = Processor(3, 3, **SMALL, resample="down2")
    post = Processor(3, 3, **SMALL, resample="up2")
    x = pixels(1, 3, 67, 93)
    assert post(pre(x), out_size=(67, 93)).shape == x.shape
    with pytest.raises(ValueError, match=r"cannot crop a \(68, 94\) output to \(69, 93\)"):
        post(pre(x), out_size=(69, 93))


def _twin(resample: str, in_ch: int = 3) -> tuple[Processor, Processor]:
    plain = Processor(in_ch, 3, **SMALL, alpha0=0.5)
    other = Processor(in_ch, 3, **SMALL, alpha0=0.5, resample=resample)
    other.load_state_dict(plain.state_dict())
    return plain, other


def test_down2_resamples_after_the_branch_sum():
    """f: bicubic-AA ↓2 of the full-resolution result (METHOD §2), odd sides edge-extended."""
    plain, pre = _twin("down2")
    x = pixels(1, 3, 32, 24)
    torch.testing.assert_close(pre(x), downsample2(plain(x), "bicubic"), atol=1e-3, rtol=0)
    x_odd = pixels(1, 3, 31, 23)
    padded = torch.nn.functional.pad(plain(x_odd), (0, 1, 0, 1), mode="replicate")
    torch.testing.assert_close(pre(x_odd), downsample2(padded, "bicubic"), atol=1e-3, rtol=0)


def test_up2_resamples_before_the_branches():
    plain, post = _twin("up2")
    b = pixels(1, 3, 12, 10)
    torch.testing.assert_close(post(b), plain(lanczos3_up2(b)), atol=1e-3, rtol=0)


def test_hdr_scaling_is_equivariant():
    """m = 128·2^k, s = 255·2^k: a 16-bit processor is the 8-bit one scaled by 2^k."""
    proc8 = Processor(3, 3, **SMALL, alpha0=0.3)
    proc16 = Processor(3, 3, **SMALL, alpha0=0.3, m=128 * 256, s=255 * 256)
    proc16.load_state_dict(proc8.state_dict())
    x = pixels(1, 3, 16, 16)
    torch.testing.assert_close(proc16(x * 256), proc8(x) * 256, rtol=1e-5, atol=1e-2)


def test_bf16_autocast_runs_the_unet_only_and_scales_in_float32():
    """The U-Net runs in bf16, the MLP and s·y + m in fp32: outputs above 128, where bf16 can only
    hold integers, still carry fractions (METHOD §10: bf16 scaling loses grey levels), and without
    the U-Net's share the output is the float32 one."""
    proc = Processor(3, 3, **SMALL, alpha0=1.0, autocast_bf16=True, resample="up2")
    ref = Processor(3, 3, **SMALL, alpha0=1.0, resample="up2")
    ref.load_state_dict(proc.state_dict())
    x = pixels(2, 3, 16, 16)
    out = proc(x)
    assert out.dtype == torch.float32
    high = out[out > 130]
    assert high.numel() > 100 and (high != high.round()).float().mean() > 0.5
    assert (out - ref(x)).abs().max() < 3.0  # bf16 branches: within a few grey levels
    out.sum().backward()
    assert proc.alpha.grad is not None
    with torch.no_grad():
        proc.alpha.zero_()
        ref.alpha.zero_()
    torch.testing.assert_close(proc(x), ref(x), rtol=0, atol=1e-4)


@pytest.mark.parametrize("resample", ["none", "down2", "up2"])
def test_differentiable_wrt_input(resample):
    proc = Processor(2, 2, [4], [4, 4], alpha0=0.5, resample=resample).double()
    x = pixels(1, 2, 4, 4, seed=3).double().requires_grad_()
    assert torch.autograd.gradcheck(proc, (x,), eps=1e-4, atol=1e-5)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="choose from: none, down2, up2"):
        Processor(3, 3, resample="down4")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="give both encoder and decoder"):
        Processor(3, 3, [8], None)
    with pytest.raises(ValueError, match="MLP depth must be >= 0"):
        Processor(3, 3, None, None, mlp_depth=-1)
    with pytest.raises(ValueError, match="scale s must be positive"):
        Processor(3, 3, None, None, s=0)


def test_residual_scale_sets_the_output_unit_of_a_residual_net():
    torch.manual_seed(0)
    full = Processor(3, 3, SLIM_ENCODER, SLIM_DECODER, alpha0=1.0, m=128.0, s=255.0, residual=True)
    small = Processor(3, 3, SLIM_ENCODER, SLIM_DECODER, alpha0=1.0, m=128.0, s=255.0, residual=True, residual_scale=4.0)
    small.load_state_dict(full.state_dict())
    x = torch.rand(1, 3, 16, 16) * 255
    assert torch.allclose(small(x), full(x) * 4.0 / 255.0, atol=1e-5)
    with pytest.raises(ValueError, match="residual_scale"):
        Processor(3, 3, None, None, residual=True, residual_scale=0.0)
