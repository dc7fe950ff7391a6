"""The sandwich networks (METHOD.md §2): U-Net, sin-MLP + α·U-Net processors, complexity.

``Processor`` is both f (pre, ``resample="down2"`` for HR over LR) and g (post,
``resample="up2"``); ``pair_complexity`` gives a run's params / MACs (the report's complexity table),
``complexity_summary`` adds FPS.
"""

from sandwich.nets.complexity import complexity_summary, count_params, fps, macs_per_pixel, unet_macs_per_pixel
from sandwich.nets.processor import Processor, sin_mlp
from sandwich.nets.unet import DEFAULT_DECODER, DEFAULT_ENCODER, SLIM_DECODER, SLIM_ENCODER, UNet

__all__ = [
    "DEFAULT_DECODER",
    "DEFAULT_ENCODER",
    "SLIM_DECODER",
    "SLIM_ENCODER",
    "Processor",
    "UNet",
    "complexity_summary",
    "count_params",
    "fps",
    "macs_per_pixel",
    "sin_mlp",
    "unet_macs_per_pixel",
]
