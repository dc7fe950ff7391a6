"""Quantisers at their definitions and limits, and the step parametrisation Δ = ELU(θ, 0.01) + 1."""

from __future__ import annotations

import pytest
import torch

from proxies.image_proxy import ImageProxy
from proxies.quantizers import StepSize, quantize, ste_round, theta_for_step

Y = torch.tensor([-2.7, -0.4, 0.2, 0.5001, 1.49, 3.6])


def test_ste_is_hard_forward_identity_backward():
    y = Y.clone().requires_grad_()
    out = ste_round(y)
    assert torch.equal(out, torch.round(Y))
    out.sum().backward()
    assert torch.equal(y.grad, torch.ones_like(Y))


def test_ste_gradient_wrt_step_is_round_minus_ratio():
    """X̂ = r(X/Δ)·Δ ⇒ ∂X̂/∂Δ = round(X/Δ) - X/Δ and ∂X̂/∂X = 1 (METHOD §3 step 5)."""
    x = torch.tensor([13.0, -5.0, 30.0], requires_grad=True)
    delta = torch.tensor(8.0, requires_grad=True)
    (quantize(x / delta, "ste", training=True) * delta).sum().backward()
    ratio = x.detach() / 8.0
    assert delta.grad.item() == pytest.approx((torch.round(ratio) - ratio).sum().item(), abs=1e-6)
    assert torch.equal(x.grad, torch.ones(3))


def test_noise_is_bounded_in_training_and_hard_in_eval():
    y = torch.linspace(-5, 5, 1001)
    noisy = quantize(y, "noise", training=True)
    assert (noisy - y).abs().max() <= 0.5 and (noisy - y).std() > 0.2
    assert torch.equal(quantize(y, "noise", training=False), torch.round(y))


def test_soft_round_limits():
    """Cubic soft rounding equals rounding at integers and half-integers ± its cube."""
    y = torch.tensor([-2.0, 0.0, 3.0, 0.25, 1.5])
    soft = quantize(y, "soft", training=True)
    assert torch.allclose(soft, torch.tensor([-2.0, 0.0, 3.0, 0.015625, 2.0 - 0.125]))
    assert torch.equal(quantize(y, "soft", training=False), torch.round(y))


def test_bypass_leaves_values_alone():
    assert torch.equal(quantize(Y, "none", training=True), Y)


def test_unknown_quantizer_names_choices():
    with pytest.raises(ValueError, match="ste, noise, soft, none"):
        quantize(Y, "gumbel", training=True)
    with pytest.raises(ValueError, match="choose from"):
        ImageProxy(quantizer="gumbel", rate="gaussian")


def test_step_parametrisation():
    assert StepSize(8.07)().item() == pytest.approx(8.07)
    low = StepSize(1.0)
    with torch.no_grad():
        low.theta.fill_(-50.0)
    assert low().item() == pytest.approx(0.99, abs=1e-6)  # ELU floor: 1 - 0.01
    with pytest.raises(ValueError, match="cannot go below 1"):
        theta_for_step(0.5)
    frozen = StepSize(4.0, trainable=False)
    assert not list(frozen.parameters()) and frozen().item() == pytest.approx(4.0)


@pytest.mark.parametrize("quantizer", ["ste", "noise", "soft"])
@pytest.mark.parametrize("rate", ["jpeg", "gaussian", "laplacian"])
def test_gradients_reach_input_and_step(quantizer, rate):
    torch.manual_seed(0)
    proxy = ImageProxy(step=6.0, quantizer=quantizer, rate=rate).train()
    x = (torch.rand(2, 3, 24, 40) * 200 + 20).requires_grad_()
    out = proxy(x)
    ((out.recon - x) ** 2).mean().backward(retain_graph=True)
    assert x.grad.abs().sum() > 0 and proxy.step_size.theta.grad.abs() > 0
    x.grad, proxy.step_size.theta.grad = None, None
    out.rate_bits.sum().backward()
    assert x.grad.abs().sum() > 0 and proxy.step_size.theta.grad < 0  # coarser step, fewer bits
