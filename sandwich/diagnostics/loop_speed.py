"""What the real codec in the loop costs per training step (``bench proxy loop-speed``).

One full step (loss, backward) of a slim sandwich that wraps JPEG 4:2:0 at quality 75 (standard
tables, the codec's own YCbCr) on a batch of Kodak crops, timed as the median of ``repeats`` runs
after one warm-up, for each ``train.codec_in_loop`` mode: ``proxy`` (f and g through the proxy),
``real`` (g on the real decoded bottleneck, f through a second, proxy pass) and ``real_ste`` (the
real bottleneck passed straight through, one pass). The ratio to ``proxy`` is what to budget.

``--video``: the same for a slim video sandwich that wraps x265 4:4:4 at ½ resolution (QP 32, as
video_lowres) on clips of foreman (``frames`` frames, DIS flow); ``real`` codes each clip as one
low-delay x265 stream per step.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import torch

from bench.config import CodecMethodConfig, SandwichMethodConfig
from bench.data import load_image
from bench.paths import data_root
from bench.scenarios import SCENARIOS
from bench.video.io import read_video
from sandwich.model import Sandwich, bottleneck_of, image_sandwich
from sandwich.train import loss_terms
from sandwich.train_clips import ClipSampler
from sandwich.video_model import video_sandwich
from sandwich.video_train import video_loss_terms
from sandwich.wrapped import WrappedCodec

MODES = ("proxy", "real", "real_ste")


def _step(model: Sandwich, s: torch.Tensor, cfg: SandwichMethodConfig) -> None:
    """One training step's loss and backward pass."""
    model.zero_grad(set_to_none=True)
    loss_terms(model, s, 100.0, cfg.train)["loss"].backward()


def _video_step(model: Sandwich, clips: tuple[torch.Tensor, torch.Tensor], cfg: SandwichMethodConfig) -> None:
    model.zero_grad(set_to_none=True)
    video_loss_terms(model, clips, 100.0, cfg.train)["loss"].backward()


def _median_ms(step: Callable[[], None], repeats: int) -> float:
    step()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(1e3 * (time.perf_counter() - t0))
    return statistics.median(times)


def _time_modes(out: dict, step: Callable[[str], Callable[[], None]], repeats: int) -> dict:
    """Median ms of each codec_in_loop mode's step, and each real mode's ratio to the proxy's."""
    for mode in MODES:
        out[f"{mode}_ms"] = _median_ms(step(mode), repeats)
    for mode in MODES[1:]:
        out[f"{mode}_vs_proxy"] = out[f"{mode}_ms"] / out["proxy_ms"]
    return out


def _net_config(mode: str, wraps: str) -> SandwichMethodConfig:
    net = {"encoder": [32], "decoder": [32, 32], "alpha0": 1.0, "init": "conventional"}
    return SandwichMethodConfig.model_validate(
        {
            "name": "s",
            "kind": "sandwich",
            "wraps": wraps,
            "lambdas": [1.0],
            "pre": net,
            "post": net,
            "train": {"codec_in_loop": mode, "bf16": True},
        }
    )


def video_loop_benchmark(batch: int = 4, crop: int = 96, frames: int = 5, repeats: int = 5) -> dict:
    anchor = CodecMethodConfig(
        name="x265-half",
        kind="codec",
        codec="x265",
        adapt="half_lanczos",
        rate_points=[22, 32, 42],
        options={"chroma": "444"},
    )
    scenario = SCENARIOS.get("lowres")
    wrapped = WrappedCodec.of(anchor, bottleneck_of(scenario), 3)
    clip = read_video(data_root() / "video" / "foreman_176x144_30fps.yuv").to_rgb()
    sampler = ClipSampler([clip], [], frames=frames, crop=crop)
    clips = sampler.batch(batch, np.random.default_rng(0), "cpu")
    out: dict = {"batch": batch, "crop": crop, "frames": frames, "threads": torch.get_num_threads()}
    out["codec"] = "x265 4:4:4 at 1/2 resolution, QP 32"

    def step(mode: str) -> Callable[[], None]:
        cfg = _net_config(mode, "x265-half")
        model = video_sandwich(scenario, cfg, 3, 1.0, wrapped)
        model.rate_point = 32
        return partial(_video_step, model, clips, cfg)

    return _time_modes(out, step, repeats)


def loop_benchmark(batch: int = 8, crop: int = 128, repeats: int = 5) -> dict:
    anchor = CodecMethodConfig(
        name="jpeg-420",
        kind="codec",
        codec="jpeg",
        rate_points=[60, 75, 90],
        options={"mode": "rgb", "chroma": "420", "tables": "standard"},
    )
    scenario = SCENARIOS.get("rgb420")
    wrapped = WrappedCodec.of(anchor, bottleneck_of(scenario), 3)
    img = load_image(data_root() / "kodak" / "kodim23.png")
    rng = np.random.default_rng(0)
    crops = []
    for _ in range(batch):
        y, x = int(rng.integers(0, img.shape[0] - crop)), int(rng.integers(0, img.shape[1] - crop))
        crops.append(img[y : y + crop, x : x + crop])
    s = torch.from_numpy(np.stack(crops).astype(np.float32)).permute(0, 3, 1, 2).contiguous()
    out: dict = {"batch": batch, "crop": crop, "threads": torch.get_num_threads(), "codec": "jpeg 4:2:0 q75"}

    def step(mode: str) -> Callable[[], None]:
        cfg = _net_config(mode, "jpeg-420")
        model = image_sandwich(scenario, cfg, 3, 1.0, wrapped)
        model.rate_point = 75
        return partial(_step, model, s, cfg)

    return _time_modes(out, step, repeats)
