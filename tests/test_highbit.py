"""High-bit sources: true depth per format, the 16-bit container, metrics at the true depth, groups."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from baselines.conventional import msb_down, msb_up
from bench.data import load_image_depth
from bench.highbit import png_sbit, to_depth
from bench.scenarios import SCENARIOS, msb_saturation_db

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("name", "depth", "shape"),
    [
        ("weld_16bit.png", 16, (684, 1024, 3)),
        ("trace_171_1024_12bit.png", 12, (1024, 1024, 1)),
        ("seine_hdr_srgb.avif", 10, (300, 400, 3)),
        ("sunset-hlg_f0_1920x1080_yuv420p10.y4m", 10, (1080, 1920, 3)),
    ],
)
def test_true_depth_and_16_bit_container(data_dir: Path, name: str, depth: int, shape: tuple[int, ...]) -> None:
    img, d = load_image_depth(data_dir / "highbit" / name)
    assert d == depth and img.shape == shape and img.dtype == np.uint16
    assert not np.any(img & ((1 << (16 - depth)) - 1))  # on the 16-bit scale: the low 16-d bits are 0
    assert len(np.unique(img >> (16 - depth))) > 200  # real depth: many distinct codes


def test_sbit_and_raw_samples(data_dir: Path) -> None:
    assert png_sbit(data_dir / "highbit" / "trace_171_1024_12bit.png") == 12
    assert png_sbit(data_dir / "kodak" / "kodim01.png") is None
    img, _ = load_image_depth(data_dir / "highbit" / "trace_171_1024_12bit.png")
    raw = (img >> 4).astype(np.int64)
    assert raw.min() == 56 and raw.max() == 2606  # SOURCES.md: DN 56..2606


def test_float16_tiff_becomes_a_16_bit_source(data_dir: Path) -> None:
    img, d = load_image_depth(data_dir / "highbit" / "spring_float16.tif")
    assert d is None and img.dtype == np.float32 and img.shape == (619, 858, 3)
    src = SCENARIOS.get("hdr").to_source(img, "spring")
    assert src.dtype == np.uint16 and src.max() == 65535


def test_msb_split_on_the_16_bit_scale_is_the_split_at_the_true_depth() -> None:
    """8 MSBs + mid-point computed on S << (16-d) equals the same at depth d, shifted up."""
    rng = np.random.default_rng(0)
    for depth in (10, 12):
        s_d = rng.integers(0, 1 << depth, (32, 32, 3)).astype(np.uint16)
        s16 = (s_d << (16 - depth)).astype(np.uint16)
        assert np.array_equal(msb_down(s16, 16, 8), msb_down(s_d, depth, 8))
        b = msb_down(s16, 16, 8)
        assert np.array_equal(to_depth(msb_up(b, 16, 8), depth), msb_up(b, depth, 8))
        err = (s_d.astype(np.float64) - msb_up(b, depth, 8)) ** 2
        assert abs(10 * np.log10(((1 << depth) - 1) ** 2 / err.mean()) - msb_saturation_db(depth)) < 0.2


def test_gray_deep_source_is_replicated_for_the_rgb_path() -> None:
    gray = np.arange(64, dtype=np.uint16).reshape(8, 8, 1) << 4
    src = SCENARIOS.get("hdr").to_source(gray, "g")
    assert src.shape == (8, 8, 3) and np.array_equal(src[..., 0], src[..., 2])


@pytest.mark.slow  # a real `bench run`
def test_run_measures_each_item_at_its_depth_and_reports_groups(tmp_path: Path) -> None:
    """A small real run on the highbit set: PSNR at each source's true depth, BD per group."""
    doc = {
        "name": "hb",
        "scenario": "hdr",
        "seed": 0,
        "data": {"eval": {"set": "highbit", "crop": [64, 96]}},
        "evaluation": {"metrics": ["psnr-rgb"], "anchor": "msb8", "bootstrap": 50},
        "methods": [
            {
                "name": "msb8",
                "kind": "codec",
                "codec": "jpeg",
                "adapt": "msb8",
                "options": {"mode": "rgb", "chroma": "444", "tables": "standard"},
                "rate_points": [50, 70, 85, 100],
            },
            {
                "name": "flat",
                "kind": "codec",
                "codec": "jpeg",
                "adapt": "msb8",
                "options": {"mode": "raw", "chroma": "444", "tables": "flat"},
                "rate_points": [1, 2, 4, 8],
            },
        ],
    }
    cfg = tmp_path / "hb.yaml"
    cfg.write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cli", "run", str(cfg), "--out", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["groups"]) == {"core", "hard"}
    assert len(summary["groups"]["core"]["items"]) == 4
    assert any(e["method"] == "flat" and e["bd_psnr_db"] is not None for e in summary["groups"]["hard"]["bd"])
    depths = {ln["bitdepth"] for ln in summary["reference_lines"]["psnr-rgb"]}
    assert depths == {10, 12, 16}
    cell = json.loads((run_dir / "cells" / "msb8" / "100.json").read_text())
    rows = {r["item"]: r for r in cell["rows"]}
    assert rows["trace_171_1024_12bit"]["bitdepth"] == 12 and "bitdepth" not in rows["weld_16bit"]


def test_box_average_makes_a_deep_training_source(data_dir: Path) -> None:
    from bench.config import DatasetConfig
    from bench.data import box_deepen, resolve_dataset

    ramp = np.repeat(np.arange(0, 256, 16, dtype=np.uint8)[None, :, None], 4, axis=0).repeat(3, axis=2)
    deep = box_deepen(np.ascontiguousarray(ramp[:, :4]), 2)  # 4x4 -> 2x2, means of 0,16 and 32,48
    assert deep.dtype == np.uint16 and deep[0, 0, 0] == 8 * 257 and deep[0, 1, 0] == 40 * 257
    item = resolve_dataset(DatasetConfig(set="bsds500", box_average=2, max_items=1), "t").items[0]
    img = item.load()
    assert img.dtype == np.uint16 and img.shape[0] in (160, 240)
    assert len(np.unique(img)) > 256  # more distinct levels than the 8-bit original
    assert SCENARIOS.get("hdr").to_source(img, item.name).dtype == np.uint16


def test_f_trains_at_its_own_learning_rate() -> None:
    import torch

    from bench.config import SandwichMethodConfig, TrainConfig
    from sandwich.model import image_sandwich
    from sandwich.train import param_groups

    net = {"encoder": [4], "decoder": [4, 4]}
    cfg = SandwichMethodConfig.model_validate(
        {"name": "s", "kind": "sandwich", "lambdas": [1], "pre": net, "post": net}
    )
    model = image_sandwich(SCENARIOS.get("rgb444"), cfg, 3, step=8.0)
    groups = param_groups(model, TrainConfig(lr=1e-3, pre_lr_scale=0.05))
    assert [g["lr"] for g in groups] == [1e-3, pytest.approx(5e-5)]
    pre = {id(p) for p in model.pre.parameters()}
    assert {id(p) for p in groups[1]["params"]} == pre and not pre & {id(p) for p in groups[0]["params"]}
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    assert isinstance(groups[0]["params"][0], torch.nn.Parameter)
