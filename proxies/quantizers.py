"""Differentiable scalar quantisers and the trainable step Δ.

The quantiser is an experiment knob (a string, logged with the run), METHOD §3 "Alternatives":

- ``"ste"``   straight-through rounding (the paper's): forward round(y), backward identity, so for
              X̂ = Q(X/Δ)·Δ: ∂X̂/∂X = 1 and ∂X̂/∂Δ = round(X/Δ) - X/Δ.
- ``"noise"`` additive uniform noise y + U(-½, ½) in training, hard rounding in eval.
- ``"soft"``  cubic soft rounding round(y) + (y - round(y))³ in training, hard rounding in eval
              (its gradient 3·frac² vanishes at integers: the "dead gradient" of the audit).
- ``"none"``  bypass: no quantisation at all (Δ → 0), for tests and upper bounds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

QUANTIZERS = ("ste", "noise", "soft", "none")
ELU_ALPHA = 0.01


def ste_round(y: Tensor) -> Tensor:
    """round(y) forward, identity backward."""
    return y + (torch.round(y) - y).detach()


def quantize(y: Tensor, method: str, training: bool) -> Tensor:
    """Quantise ``y = X/Δ`` to (soft) integers with ``method`` from :data:`QUANTIZERS`."""
    if method == "ste":
        return ste_round(y)
    if method == "none":
        return y
    if method not in QUANTIZERS:
        raise ValueError(f"unknown quantizer {method!r}; choose from: {', '.join(QUANTIZERS)}")
    if not training:
        return torch.round(y)
    if method == "noise":
        return y + torch.rand_like(y) - 0.5
    r = torch.round(y).detach()
    return r + (y - r) ** 3


def theta_for_step(step: float) -> float:
    """Inverse of Δ = ELU(θ, 0.01) + 1 for Δ >= 1 (where the ELU is the identity)."""
    if step < 1:
        raise ValueError(f"a quantiser step must be >= 1 (JPEG cannot go below 1), got {step}")
    return step - 1.0


class StepSize(nn.Module):
    """Trainable step Δ = ELU(θ, 0.01) + 1.

    Δ stays >= 0.99 with a live gradient below 1 (a hard clamp would freeze θ); the real codec
    gets rint(Δ) clipped to [1, 255], so its step never drops below 1.

    Args:
        init_step: Δ at θ₀ (METHOD §3: θ₀ = max(√γ, 1) ⇒ Δ₀ ≈ 8.07 for γ = 50).
        trainable: False freezes θ (a buffer instead of a parameter).
    """

    def __init__(self, init_step: float = 8.0, trainable: bool = True) -> None:
        super().__init__()
        theta = torch.tensor(theta_for_step(init_step), dtype=torch.float32)
        if trainable:
            self.theta = nn.Parameter(theta)
        else:
            self.register_buffer("theta", theta)

    def forward(self) -> Tensor:
        return F.elu(self.theta.float(), alpha=ELU_ALPHA) + 1.0
