"""What the real codec in the loop costs per training step (``bench proxy loop-speed``).

One full step (loss, backward) of a slim sandwich that wraps JPEG 4:2:0 at quality 75 (standard
tables, the codec's own YCbCr) on a batch of Kodak crops, timed as the median of ``repeats`` runs
after one warm-up, for each ``train.codec_in_loop`` mode: ``proxy`` (f and g through the proxy),
``real`` (g on the real decoded bottleneck, f through a second, proxy pass) and ``real_ste`` (the
real bottleneck passed straight through, one pass). The ratio to ``proxy`` is what to budget.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from bench.config import CodecMethodConfig, SandwichMethodConfig
from bench.data import load_image
from bench.paths import data_root
from bench.scenarios import SCENARIOS
from sandwich.model import Sandwich, bottleneck_of, image_sandwich
from sandwich.train import loss_terms
from sandwich.wrapped import WrappedCodec

MODES = ("proxy", "real", "real_ste")


def _step(model: Sandwich, s: torch.Tensor, cfg: SandwichMethodConfig) -> None:
    """One training step's loss and backward pass."""
    model.zero_grad(set_to_none=True)
    loss_terms(model, s, 100.0, cfg.train)["loss"].backward()


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
    for mode in MODES:
        net = {"encoder": [32], "decoder": [32, 32], "alpha0": 1.0, "init": "conventional"}
        cfg = SandwichMethodConfig.model_validate(
            {
                "name": "s",
                "kind": "sandwich",
                "wraps": "jpeg-420",
                "lambdas": [1.0],
                "pre": net,
                "post": net,
                "train": {"codec_in_loop": mode, "bf16": True},
            }
        )
        model = image_sandwich(scenario, cfg, 3, 1.0, wrapped)
        model.rate_point = 75
        _step(model, s, cfg)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            _step(model, s, cfg)
            times.append(1e3 * (time.perf_counter() - t0))
        out[f"{mode}_ms"] = statistics.median(times)
    for mode in MODES[1:]:
        out[f"{mode}_vs_proxy"] = out[f"{mode}_ms"] / out["proxy_ms"]
    return out
