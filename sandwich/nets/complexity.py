"""Model complexity as the paper reports it: parameters, MACs per pixel, frames per second.

Guleryuz et al., arXiv:2402.05887, Table II and Fig. 14; METHOD.md §2. A conv counts
(k_h·k_w·c_in + 1)·c_out MACs per output pixel (the bias as one MAC), the convention under
which Σ(9·c_in·c_out + c_out)·4^-level reproduces six of Table II's seven MAC entries exactly
(the seventh, [8,16,32,64], is 13,744 here and 13,743 in the paper). Only ``nn.Conv2d`` layers
count: ReLU, sin, bilinear ↑2, decimation, the α sum and the Lanczos3/bicubic resamplers do
not. Table II's FPS are for one 1024² RGB frame on an A100 MIG slice, Fig. 14's parameter
counts for pre + post together.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn


def count_params(module: nn.Module) -> int:
    """Number of parameters (α and the MLP included for a processor)."""
    return sum(p.numel() for p in module.parameters())


def input_channels(module: nn.Module) -> int:
    """Input channels of ``module``: those of its first ``nn.Conv2d`` in registration order
    (a processor's MLP, or the pre-processor of an ``nn.Sequential(pre, post)``)."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            return layer.in_channels
    raise ValueError(f"{type(module).__name__} has no Conv2d layer to take the input channels from")


def _conv_macs(layer: nn.Conv2d, out: Tensor) -> int:
    k_h, k_w = layer.kernel_size
    per_output = k_h * k_w * layer.in_channels // layer.groups + (layer.bias is not None)
    return out.numel() * per_output


def macs_per_pixel(module: nn.Module, in_ch: int | None = None, size: int = 256) -> float:
    """Conv MACs of one forward pass on a ``1 x in_ch x size x size`` input per *input* pixel.

    Measured with forward hooks, so padding and resampling inside ``module`` count as they
    run. For a pre + post pair pass ``nn.Sequential(pre, post)``: the source image is then
    the input, so g's ↑2 work is charged per source pixel. ``size`` should be a multiple of
    2^n (n U-Net levels), else the internal padding adds MACs.
    """
    in_ch = input_channels(module) if in_ch is None else in_ch
    total = 0

    def hook(layer: nn.Conv2d, _inputs: tuple[Tensor, ...], out: Tensor) -> None:
        nonlocal total
        total += _conv_macs(layer, out)

    handles = [layer.register_forward_hook(hook) for layer in module.modules() if isinstance(layer, nn.Conv2d)]
    param = next(module.parameters())
    try:
        with torch.inference_mode():
            module(torch.zeros(1, in_ch, size, size, device=param.device, dtype=param.dtype))
    finally:
        for handle in handles:
            handle.remove()
    return total / size**2


def pair_complexity(pre: nn.Module | None, post: nn.Module | None, factor: int, size: int = 128) -> dict[str, float]:
    """Params and conv MACs per *source* pixel of a sandwich's f and g as built (either may be absent: the
    post- and pre-only ablations; a wrapping sandwich's rate-point plane included), for the run's results meta.
    f runs on the source, g on the bottleneck, which has 1/``factor``² of its pixels. Each net is counted on
    its own, so the pair need not chain (g may take one more input plane than f gives)."""
    nets = [(net, s) for net, s in ((pre, size), (post, size // factor)) if net is not None]
    return {
        "params": sum(count_params(net) for net, _ in nets),
        "macs_per_pixel": sum(macs_per_pixel(net, size=s) * (s / size) ** 2 for net, s in nets),
    }


def unet_macs_per_pixel(encoder: Sequence[int], decoder: Sequence[int], in_ch: int, out_ch: int) -> float:
    """METHOD §2's analytic count Σ(9·c_in·c_out + c_out)·4^-level for ``UNet``'s layout."""
    n = len(encoder)
    convs: list[tuple[int, int, int]] = []  # (c_in, c_out, level)
    c = in_ch
    for level, width in enumerate(encoder):
        convs += [(c, width, level), (width, width, level)]
        c = width
    convs += [(c, decoder[0], n), (decoder[0], decoder[0], n)]
    c = decoder[0]
    for i, (width, skip) in enumerate(zip(decoder[1:], reversed(encoder), strict=False), start=1):
        convs += [(c + skip, width, n - i), (width, width, n - i)]
        c = width
    convs.append((c, out_ch, 0))
    return sum((9 * a * b + b) / 4**level for a, b, level in convs)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def fps(
    module: nn.Module,
    size: int = 1024,
    device: str | torch.device = "cpu",
    repeats: int = 3,
    warmup: int = 1,
    in_ch: int | None = None,
) -> float:
    """Frames per second of ``module`` on a ``1 x C x size x size`` frame (wall clock, after
    ``warmup`` untimed passes, under ``torch.inference_mode``). Runs on a copy, so the
    caller's module stays on its device."""
    device = torch.device(device)
    in_ch = input_channels(module) if in_ch is None else in_ch
    net = copy.deepcopy(module).to(device).eval()
    x = torch.rand(1, in_ch, size, size, device=device) * 255
    with torch.inference_mode():
        for _ in range(warmup):
            net(x)
        _sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            net(x)
        _sync(device)
        return repeats / (time.perf_counter() - start)


def complexity_summary(
    pre: nn.Module,
    post: nn.Module,
    devices: Iterable[str] = (),
    size: int = 1024,
    mac_size: int = 256,
    repeats: int = 3,
) -> dict[str, float | int | None]:
    """``{"params", "macs_per_pixel", "fps_cpu", "fps_gpu"}`` for a pre + post pair.

    Params are summed (Fig. 14 counts pre + post), MACs are per source pixel, FPS is the pair
    run back to back on one ``size``² frame (no codec). FPS is measured only on the listed
    ``devices`` (``"cpu"``, ``"cuda"``); an unlisted or unavailable device gives ``None``.
    """
    pair = nn.Sequential(pre, post)
    wanted = set(devices)
    unknown = wanted - {"cpu", "cuda"}
    if unknown:
        raise ValueError(f"unknown devices {sorted(unknown)}; choose from: cpu, cuda")

    def timed(device: str) -> float | None:
        if device not in wanted or (device == "cuda" and not torch.cuda.is_available()):
            return None
        return fps(pair, size=size, device=device, repeats=repeats)

    return {
        "params": count_params(pair),
        "macs_per_pixel": macs_per_pixel(pair, size=mac_size),
        "fps_cpu": timed("cpu"),
        "fps_gpu": timed("cuda"),
    }
