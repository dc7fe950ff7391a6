"""Complexity numbers for the report: params, hooked MACs per source pixel, opt-in FPS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import nn

from sandwich.nets import (
    SLIM_DECODER,
    SLIM_ENCODER,
    Processor,
    complexity_summary,
    count_params,
    fps,
    macs_per_pixel,
    unet_macs_per_pixel,
)

SLIM = (SLIM_ENCODER, SLIM_DECODER)


@pytest.fixture(autouse=True)
def single_thread() -> Iterator[None]:
    """Small tensors: OpenMP threads spin for seconds on a busy 2-core box."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def mlp_macs(c_in: int, c_out: int, hidden: int = 16) -> int:
    return (c_in * hidden + hidden) + (hidden * c_out + c_out)


def test_processor_macs_are_unet_plus_mlp():
    proc = Processor(3, 1, *SLIM)
    assert macs_per_pixel(proc, size=64) == unet_macs_per_pixel(*SLIM, 3, 1) + mlp_macs(3, 1)


def test_pair_macs_are_per_source_pixel():
    """HR over LR: f runs at full resolution before ↓2 and g after ↑2, so per source pixel
    the pair costs exactly its two full-resolution counts (resamplers are not convs)."""
    pre = Processor(3, 3, *SLIM, resample="down2")
    post = Processor(3, 3, *SLIM, resample="up2")
    summary = complexity_summary(pre, post, mac_size=64)
    one = unet_macs_per_pixel(*SLIM, 3, 3) + mlp_macs(3, 3)
    assert summary["macs_per_pixel"] == 2 * one
    assert summary["params"] == 2 * (57_219 + mlp_macs(3, 3) + 1)  # + α each
    assert summary["fps_cpu"] is None and summary["fps_gpu"] is None  # opt-in


def test_gray_pair_channels():
    pre, post = Processor(3, 1, *SLIM), Processor(1, 3, *SLIM)
    expected = unet_macs_per_pixel(*SLIM, 3, 1) + mlp_macs(3, 1) + unet_macs_per_pixel(*SLIM, 1, 3) + mlp_macs(1, 3)
    summary = complexity_summary(pre, post, mac_size=64)
    assert summary["macs_per_pixel"] == expected
    assert summary["params"] == count_params(pre) + count_params(post)


def test_fps_is_opt_in_and_leaves_the_module_alone():
    pre, post = Processor(3, 3, *SLIM), Processor(3, 3, *SLIM)
    summary = complexity_summary(pre, post, ["cpu"], size=32, mac_size=32, repeats=1)
    assert summary["fps_cpu"] > 0
    if not torch.cuda.is_available():
        assert complexity_summary(pre, post, ["cuda"], mac_size=32)["fps_gpu"] is None
    assert pre.training and next(pre.parameters()).device.type == "cpu"
    assert fps(post, size=16, repeats=2) > 0


def test_bad_inputs_are_refused():
    pre = Processor(3, 3, None, None)
    with pytest.raises(ValueError, match="choose from: cpu, cuda"):
        complexity_summary(pre, pre, ["tpu"])
    with pytest.raises(ValueError, match="no Conv2d layer"):
        macs_per_pixel(nn.Sequential(nn.ReLU()))
