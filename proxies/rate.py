"""Rate models for the image proxy: calibrated to a real codec, or calibration-free.

Calibrated (the paper's, eq. 39-40, with METHOD §3/§10's header fix)::

    N  = Σ_{channels, blocks, coeffs} ln(1 + |q|),   q = round(X/Δ)  (hard forward, STE backward)
    b  = bits of a constant plane of the same size at the same Δ (headers + per-block floor: the
         real rate at N = 0), capped at R
    a  = sg((R - b) / N)          R = real bits of the detached bottleneck, channel by channel
    R̂  = a·N + b                  forward value == R;  ∂R̂ = a·∂N  (He-Mitra: rate ∝ nonzeros)

``header="none"`` gives the release's b = 0 (headers fold into a and inflate the gradient on
small crops). Only the real channels are charged: every channel is its own 4:0:0 image.

Calibration-free (no codec call; METHOD §3 "Alternatives"), per image, channel, DCT position
over the n blocks of a plane:

- ``gaussian``: n·max(0, log2(σ/Δ) + ½·log2(2πe)), σ = std of the dequantised coefficients
  (the high-rate entropy of a Gaussian, as the release's default).
- ``laplacian``: n·H(Laplace(b) quantised with step Δ), b = mean |X - mean X|: the exact
  entropy of a uniformly quantised Laplacian, which tends to log2(2e·b/Δ) at high rate and,
  unlike that limit, stays meaningful when most coefficients quantise to zero.

Both ignore headers, DC prediction and Huffman/CABAC inefficiency; ``bench proxy fidelity`` reports
how far they land from the real codecs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal, NamedTuple, Protocol

import numpy as np
import torch
from torch import Tensor

from proxies.calibration import RateTarget, Step, constant_bits, make_target, real_bits

LN2 = math.log(2.0)


class CodedPlanes(NamedTuple):
    """Equally sized planes of a batch as the codec sees them (one group per resolution)."""

    pixels: Tensor  # N x Cg x h x w: clipped, rounded codec input at its real (unpadded) size
    coeffs: Tensor  # N x Cg x Hb x Wb x 8 x 8: DCT of the padded planes - 128, unquantised
    q: Tensor  # STE round(coeffs / Δ): hard values, identity gradient


class RateEstimate(NamedTuple):
    """Per-image rate; ``real_bits``/``header_bits`` only for calibrated models (for logging)."""

    bits: Tensor
    real_bits: Tensor | None = None
    header_bits: Tensor | None = None


class RateModel(Protocol):
    name: str

    def __call__(self, planes: Sequence[CodedPlanes], step: Tensor, log_count: Tensor) -> RateEstimate: ...


def sum_tensors(terms: Iterable[Tensor]) -> Tensor:
    """``sum(terms)``, refusing no terms at all (where ``sum`` would give the int 0)."""
    total = sum(terms)
    if not isinstance(total, Tensor):
        raise ValueError("no planes to sum over")
    return total


def log_count(planes: Sequence[CodedPlanes]) -> Tensor:
    """N = Σ ln(1 + |q|) per image over all channels, blocks and frequencies."""
    return sum_tensors(torch.log1p(p.q.abs()).flatten(1).sum(1) for p in planes)


def nonzeros(planes: Sequence[CodedPlanes]) -> Tensor:
    """Number of nonzero quantised coefficients per image."""
    return sum_tensors((p.q.detach() != 0).flatten(1).sum(1) for p in planes)


def calibrate(log_count: Tensor, real: Tensor, header: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(R̂, b, a): R̂ = a·N + b, b = min(header, R), a = sg((R - b)/N); forward R̂ == R.

    With N = 0 there is nothing to scale: b = R, a = 0.
    """
    n = log_count.detach()
    intercept = torch.where(n > 0, torch.minimum(header, real), real)
    scale = (real - intercept) / n.clamp_min(1e-12)
    return scale * log_count + intercept, intercept, scale


def _uint8_planes(planes: Sequence[CodedPlanes]) -> list[list[np.ndarray]]:
    """Per image, the list of its channel planes as uint8 arrays (detached, on the CPU)."""
    per_image: list[list[np.ndarray]] = [[] for _ in range(planes[0].pixels.shape[0])]
    for group in planes:
        arr = group.pixels.detach().round().clamp(0, 255).to("cpu", torch.uint8).numpy()
        for n, image in enumerate(arr):
            per_image[n].extend(np.ascontiguousarray(c) for c in image)
    return per_image


class CalibratedRate:
    """R̂ = a·N + b whose forward value is the real codec's bits for the detached bottleneck.

    Args:
        target: ``"jpeg"``, ``"hevc"`` or a :class:`~proxies.calibration.RateTarget`.
        header: ``"constant"`` subtracts the bits of a constant plane (same size, same Δ) before
            fitting a; ``"none"`` is the release's b = 0.
        workers: encoder threads (default: CPU count, at most 8).
    """

    def __init__(
        self,
        target: str | RateTarget = "jpeg",
        header: Literal["constant", "none"] = "constant",
        workers: int | None = None,
    ) -> None:
        if header not in ("constant", "none"):
            raise ValueError(f"unknown header handling {header!r}; choose from: constant, none")
        self.target = make_target(target) if isinstance(target, str) else target
        self.header = header
        self.workers = workers
        # recordable: the default round-trips through make_rate(name)
        self.name = self.target.name if header == "constant" else f"{self.target.name}:header={header}"

    def __call__(self, planes: Sequence[CodedPlanes], step: Tensor, log_count: Tensor) -> RateEstimate:
        steps = plane_steps(step, sum(p.pixels.shape[1] for p in planes))
        images = _uint8_planes(planes)
        flat = [p for image in images for p in image]
        coded = iter(real_bits(self.target, flat, steps * len(images), self.workers))
        real = [sum(next(coded) for _ in image) for image in images]
        header = [self._header(image, steps) for image in images]
        dev = log_count.device
        real_t = torch.tensor(real, dtype=torch.float32, device=dev)
        header_t = torch.tensor(header, dtype=torch.float32, device=dev)
        bits, intercept, _ = calibrate(log_count, real_t, header_t)
        return RateEstimate(bits, real_t, intercept)

    def _header(self, image: list[np.ndarray], steps: list[Step]) -> float:
        if self.header == "none":
            return 0.0
        return float(
            sum(constant_bits(self.target, p.shape[0], p.shape[1], st) for p, st in zip(image, steps, strict=True))
        )


def plane_steps(step: Tensor, channels: int) -> list[Step]:
    """What the real codec codes each channel with: the flat Δ, or (a ``C x 8 x 8`` step) the
    channel's quantisation table as 64 integers in natural order."""
    if step.ndim == 0:
        return [float(step.detach())] * channels
    if tuple(step.shape) != (channels, 8, 8):
        raise ValueError(f"per-channel steps must be {channels} x 8 x 8, got {tuple(step.shape)}")
    return [tuple(int(v) for v in t) for t in step.detach().round().to("cpu", torch.int64).reshape(channels, 64)]


def _flat_only(name: str, step: Tensor) -> None:
    if step.ndim:
        raise ValueError(f"the {name} rate model takes a flat step, not quantisation tables; use rate: jpeg")


class GaussianRate:
    """High-rate Gaussian entropy per DCT position (calibration-free)."""

    name = "gaussian"

    def __call__(self, planes: Sequence[CodedPlanes], step: Tensor, log_count: Tensor) -> RateEstimate:
        _flat_only(self.name, step)
        terms = []
        for p in planes:
            x = (p.q * step).flatten(2, 3)  # N x C x blocks x 8 x 8, dequantised
            sigma = (x.var(dim=2, unbiased=False) + 1e-6).sqrt()
            per_pos = (torch.log(sigma / step) + 0.5 * math.log(2 * math.pi * math.e)).clamp_min(0)
            terms.append(per_pos.flatten(1).sum(1) * x.shape[2] / LN2)
        return RateEstimate(sum_tensors(terms))


def quantised_laplace_entropy(scale: Tensor, step: Tensor) -> Tensor:
    """Entropy (nats) of round(X/Δ) for X ~ Laplace(0, scale); differentiable in both."""
    p = torch.exp(-step / scale.clamp_min(1e-6)).clamp(1e-12, 1 - 1e-7)
    s = p.sqrt()  # P(q != 0)
    p0 = 1 - s
    geometric = -(torch.xlogy(1 - p, 1 - p) + torch.xlogy(p, p)) / (1 - p)  # |q| given q != 0
    return -torch.xlogy(p0, p0) - torch.xlogy(s, s) + s * (LN2 + geometric)


class LaplacianRate:
    """Quantised-Laplacian entropy per DCT position (calibration-free)."""

    name = "laplacian"

    def __call__(self, planes: Sequence[CodedPlanes], step: Tensor, log_count: Tensor) -> RateEstimate:
        _flat_only(self.name, step)
        terms = []
        for p in planes:
            x = p.coeffs.flatten(2, 3)
            scale = (x - x.mean(dim=2, keepdim=True)).abs().mean(dim=2)
            nats = quantised_laplace_entropy(scale, step)
            terms.append(nats.flatten(1).sum(1) * x.shape[2] / LN2)
        return RateEstimate(sum_tensors(terms))


RATE_MODELS = ("jpeg", "hevc", "gaussian", "laplacian")


def make_rate(name: str, **kwargs: Any) -> RateModel:
    """Rate model by name: calibrated ``jpeg``/``hevc`` (kwargs to CalibratedRate) or a free one."""
    if name in ("jpeg", "hevc"):
        return CalibratedRate(name, **kwargs)
    if name == "gaussian":
        return GaussianRate()
    if name == "laplacian":
        return LaplacianRate()
    raise ValueError(f"unknown rate model {name!r}; choose from: {', '.join(RATE_MODELS)}")
