"""`kind: compressai` in experiment files: every mistake stops the run before any work, with a fix."""

from __future__ import annotations

from typing import Any

import pytest

from bench.config import parse_config
from bench.errors import ConfigError
from bench.plan import build_plan


def experiment(method: dict[str, Any], **over: Any) -> dict[str, Any]:
    doc = {
        "name": "x",
        "scenario": "rgb",
        "data": {"eval": {"set": "kodak", "max_items": 1}},
        "methods": [{"name": "cai", "kind": "compressai", "arch": "bmshj2018-factorized", **method}],
    }
    doc.update(over)
    return doc


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ({"qualities": [0, 3]}, "qualities must be distinct integers 1..8"),
        ({"arch": "cheng2020-anchor", "qualities": [7]}, "1..6 for cheng2020-anchor"),
        ({"qualities": [3, 3]}, "qualities must be distinct"),
        ({"qualities": [3], "train": {"steps": 5}}, "'train' and 'channels' apply to weights: trained_here only"),
        ({"qualities": [3], "weights": "trained_here", "checkpoint_dir": "/tmp"}, "'checkpoint_dir' applies to"),
        ({"qualities": [3], "weights": "trained_here", "channels": [8]}, "channels for bmshj2018-factorized are 2"),
        ({"qualities": [3], "weights": "trained_here", "train": {"lambdas": {4: 0.01}}}, "not evaluated: [4]"),
        ({"qualities": [3], "weights": "trained_here", "metric": "ms-ssim"}, "needs train.crop >= 192"),
        (
            {"qualities": [3], "weights": "trained_here", "train": {"crop": 100}},
            "train.crop: Input should be a multiple of 64",
        ),
        (
            {"qualities": [3], "weights": "trained_here", "train": {"step": 5}},
            "train.step: unknown key (did you mean 'steps'?)",
        ),
        ({"qualities": [3], "weight": "pretrained"}, "methods.0.weight: unknown key (did you mean 'weights'?)"),
        ({"qualities": [3], "arch": "bmshj2018"}, "methods.0.arch: Input should be 'bmshj2018-factorized'"),
    ],
)
def test_bad_values_name_the_key(method: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(experiment(method))
    assert message in str(exc.value)


def test_plan_needs_a_train_set_for_trained_here(data_dir) -> None:
    cfg = parse_config(experiment({"qualities": [3], "weights": "trained_here"}))
    with pytest.raises(ConfigError, match=r"data.train: methods cai are trained"):
        build_plan(cfg)


def test_plan_refuses_non_rgb8_scenarios(data_dir) -> None:
    cfg = parse_config(
        experiment(
            {"qualities": [3], "weights": "trained_here"},
            scenario="hdr",
            data={"eval": {"set": "hdr", "max_items": 1}, "train": {"set": "bsds500"}},
        )
    )
    with pytest.raises(ConfigError, match="CompressAI codecs take 8-bit RGB; scenario 'hdr' gives 16-bit"):
        build_plan(cfg)
