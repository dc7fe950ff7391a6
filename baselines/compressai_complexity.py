"""A learned codec's size for the report's complexity table: parameters and convolution MACs per pixel.

Counted like the sandwich's nets (``sandwich.nets.complexity``: a conv costs k_h·k_w·c_in/groups + 1 MACs per
output value, the bias as one), with transposed convolutions (CompressAI's synthesis transforms) costing
k_h·k_w·c_out/groups per *input* value plus one per output value. Entropy models, GDN and activations do not
count. One forward pass of the whole model (analysis, hyper and synthesis transforms) on a zero image.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


def _macs(layer: nn.Conv2d | nn.ConvTranspose2d, inputs: tuple[Tensor, ...], out: Tensor) -> int:
    k_h, k_w = layer.kernel_size
    bias = out.numel() if layer.bias is not None else 0
    if isinstance(layer, nn.ConvTranspose2d):
        return inputs[0].numel() * k_h * k_w * layer.out_channels // layer.groups + bias
    return out.numel() * k_h * k_w * layer.in_channels // layer.groups + bias


def codec_complexity(model: nn.Module, size: int = 128) -> dict[str, Any]:
    """``{"params", "macs_per_pixel"}`` of a CompressAI model on a ``1 x 3 x size x size`` input (``size`` a
    multiple of 64, the deepest hyperprior's stride)."""
    total = 0

    def hook(layer: nn.Conv2d | nn.ConvTranspose2d, inputs: tuple[Tensor, ...], out: Tensor) -> None:
        nonlocal total
        total += _macs(layer, inputs, out)

    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    handles = [m.register_forward_hook(hook) for m in convs]
    param = next(model.parameters())
    try:
        with torch.inference_mode():
            model(torch.zeros(1, 3, size, size, device=param.device, dtype=param.dtype))
    finally:
        for handle in handles:
            handle.remove()
    return {"params": sum(p.numel() for p in model.parameters()), "macs_per_pixel": total / size**2}
