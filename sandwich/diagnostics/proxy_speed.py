"""What the image proxy costs inside a training step (``bench proxy speed``).

Measured, each as the median of ``repeats`` timed runs after one warm-up:

- ``proxy_ms``: proxy forward + backward with the calibrated rate, as training runs it (this
  includes the real encodes of the detached bottleneck);
- ``calibration_ms`` / ``calibration_serial_ms``: those real encodes alone (batch x channels
  planes on the thread pool / one after another);
- ``proxy_calibration_free_ms``: proxy forward + backward with the Laplacian rate (no codec);
- ``rest_ms``: "the rest of the step": a pre and a post slim U-Net([32];[32,32]) (57,219
  parameters each for 3 channels, METHOD §2) forward + backward with an MSE loss, at the same
  batch and size. The sin-MLP branch and the optimiser update are left out (both small).

``proxy_share`` = proxy_ms / (proxy_ms + rest_ms); ``calibration_share`` likewise.
The bottleneck is uniform noise: the encoders' worst case (nearly every coefficient codes).
The ``hevc`` target runs two ffmpeg processes per plane (the wrapper also decodes).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from proxies.calibration import default_workers, make_target, real_bits
from proxies.image_proxy import ImageProxy
from proxies.rate import CalibratedRate


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU()
    )


class SlimUNet(nn.Module):
    """U-Net([32]; [32, 32]) of METHOD §2: the cost stand-in for a pre/post processor."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.e1, self.d0, self.d1 = _block(channels, 32), _block(32, 32), _block(64, 32)
        self.out = nn.Conv2d(32, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        skip = self.e1(x)
        low = self.d0(skip[..., 1::2, 1::2])
        up = F.interpolate(low, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.out(self.d1(torch.cat([up, skip], dim=1)))


def _timed(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median wall time of ``fn`` in ms (one untimed warm-up; CUDA synchronised)."""
    times = []
    for i in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i:
            times.append(1e3 * (time.perf_counter() - t0))
    return statistics.median(times)


def proxy_benchmark(
    batch: int = 8,
    channels: int = 3,
    size: int = 256,
    device: str = "cpu",
    target: str = "jpeg",
    step: float = 8.0,
    repeats: int = 5,
) -> dict:
    """Time the proxy, its real-codec calibration and a slim-U-Net step; return the figures."""
    dev = torch.device(device)
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(batch, channels, size, size, generator=gen) * 255).to(dev)
    calibrated = ImageProxy(step=step, rate=CalibratedRate(target)).to(dev)
    free = ImageProxy(step=step, rate="laplacian").to(dev)
    pre, post = SlimUNet(channels).to(dev), SlimUNet(channels).to(dev)

    def proxy_step(proxy: ImageProxy) -> Callable[[], None]:
        def run() -> None:
            b = x.detach().requires_grad_()
            out = proxy(b)
            (((out.recon - b) ** 2).mean() + out.rate_bits.mean() / b[0].numel()).backward()

        return run

    def rest_step() -> None:
        y = post(pre(x / 255))
        F.mse_loss(y, x / 255).backward()

    codec_input = x.clamp(0, 255).round().to("cpu", torch.uint8).numpy()
    planes = [plane for image in codec_input for plane in image]
    tgt, workers = make_target(target), default_workers()
    proxy_ms = _timed(proxy_step(calibrated), dev, repeats)
    rest_ms = _timed(rest_step, dev, repeats)
    calib_ms = _timed(lambda: real_bits(tgt, planes, step, workers), dev, repeats)
    return {
        "shape": [batch, channels, size, size],
        "device": str(dev),
        "target": target,
        "step": step,
        "workers": workers,
        "threads": torch.get_num_threads(),
        "proxy_ms": proxy_ms,
        "calibration_ms": calib_ms,
        "calibration_serial_ms": _timed(lambda: real_bits(tgt, planes, step, 1), dev, repeats),
        "proxy_calibration_free_ms": _timed(proxy_step(free), dev, repeats),
        "rest_ms": rest_ms,
        "rest_measured": (
            f"pre + post SlimUNet([32];[32,32]) "
            f"({sum(p.numel() for p in pre.parameters()):,} params each) "
            "forward + backward, MSE loss"
        ),
        "proxy_share": proxy_ms / (proxy_ms + rest_ms),
        "calibration_share": calib_ms / (proxy_ms + rest_ms),
    }
