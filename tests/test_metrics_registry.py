"""The METRICS registry, its one entry point for images and sequences, and the optional pyiqa extras."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.errors import DataError
from bench.metrics import METRICS, MeanOfFrames, WholeSequence, compute_metrics, metric_names, sequence_metrics
from bench.metrics.iqa_extra import available, extra_metrics
from bench.metrics.lpips import lpips_distance
from bench.metrics.msssim import ms_ssim_db, ms_ssim_rgb
from bench.metrics.psnr import psnr_rgb, psnr_y, psnr_yuv, psnr_yuv_pooled
from bench.metrics.vmaf import vmaf_image
from bench.registry import UnknownNameError

ALL = (
    "psnr-rgb",
    "psnr-y",
    "psnr-yuv",
    "psnr-yuv-pooled",
    "ms-ssim-rgb",
    "ms-ssim-rgb-db",
    "lpips-alex",
    "lpips-vgg",
    "vmaf",
    "vmaf-neg",
)


@pytest.fixture(scope="module")
def pair(kodim) -> tuple[np.ndarray, np.ndarray]:
    ref = kodim(13, crop=(176, 192))
    buf = io.BytesIO()
    Image.fromarray(ref).save(buf, "JPEG", quality=25)
    return ref, np.asarray(Image.open(buf).convert("RGB"))


def test_registry_declares_direction_units_pooling_and_modalities() -> None:
    assert METRICS.names() == sorted(ALL) and len(set(ALL)) == len(ALL)
    lower = {k for k in ALL if not METRICS.get(k).higher_is_better}
    assert lower == {"lpips-alex", "lpips-vgg"}
    db = {k for k in ALL if METRICS.get(k).is_db}
    assert db == {"psnr-rgb", "psnr-y", "psnr-yuv", "psnr-yuv-pooled", "ms-ssim-rgb-db"}
    assert all(METRICS.get(k).unit == ("dB" if k in db else "") for k in ALL)
    whole = {k for k in ALL if isinstance(METRICS.get(k).pooling, WholeSequence)}
    assert whole == {"vmaf", "vmaf-neg"}
    assert all(isinstance(METRICS.get(k).pooling, MeanOfFrames) for k in set(ALL) - whole)
    assert metric_names("image") == sorted(ALL)
    assert metric_names("video") == sorted(set(ALL) - {"ms-ssim-rgb-db"})


@pytest.mark.slow  # every metric, VMAF and both LPIPS nets included
def test_compute_metrics_equals_the_functions(pair) -> None:
    ref, dist = pair
    got = compute_metrics(ref, dist, ALL)
    assert list(got) == list(ALL)
    expected = {
        "psnr-rgb": psnr_rgb(ref, dist),
        "psnr-y": psnr_y(ref, dist),
        "psnr-yuv": psnr_yuv(ref, dist),
        "psnr-yuv-pooled": psnr_yuv_pooled(ref, dist),
        "ms-ssim-rgb": ms_ssim_rgb(ref, dist),
        "ms-ssim-rgb-db": ms_ssim_db(ms_ssim_rgb(ref, dist)),
        "lpips-alex": lpips_distance(ref, dist, "alex"),
        "lpips-vgg": lpips_distance(ref, dist, "vgg"),
        "vmaf": vmaf_image(ref, dist),
        "vmaf-neg": vmaf_image(ref, dist, model="vmaf_v0.6.1neg"),
    }
    assert got == expected  # bit for bit


def test_an_image_is_a_one_frame_sequence(pair) -> None:
    ref, dist = pair
    image = compute_metrics(ref, dist, ALL)
    seq = sequence_metrics(ref[None], dist[None], ALL)
    assert seq.pooled == image  # bit for bit, VMAF included
    assert seq.per_frame == {k: [v] for k, v in image.items()}
    gray = compute_metrics(ref[..., 1], dist[..., 1], ["psnr-rgb", "psnr-y"])
    assert gray == sequence_metrics(ref[None, ..., 1:2], dist[None, ..., 1:2], ["psnr-rgb", "psnr-y"]).pooled


def test_mean_pooled_metrics_pool_the_mean_of_their_frames(pair) -> None:
    ref, dist = pair
    frames = np.stack([ref, ref[::-1], ref[:, ::-1]]), np.stack([dist, dist[::-1], ref[:, ::-1]])
    keys = [k for k in ALL if isinstance(METRICS.get(k).pooling, MeanOfFrames) and k != "ms-ssim-rgb-db"]
    s = sequence_metrics(*frames, keys)
    for key in keys:
        assert s.pooled[key] == np.mean(s.per_frame[key]), key
        alone = [compute_metrics(r, d, [key])[key] for r, d in zip(*frames, strict=True)]
        assert s.per_frame[key] == pytest.approx(alone, abs=1e-7), key
    assert s.pooled["psnr-rgb"] == np.inf  # the third frame is a perfect copy


def test_an_image_only_metric_is_refused_on_a_sequence(pair) -> None:
    ref, dist = pair
    with pytest.raises(
        UnknownNameError, match="'ms-ssim-rgb-db' is not a sequence metric; choose from: lpips-alex, .*, vmaf-neg$"
    ) as info:
        sequence_metrics(np.stack([ref, ref]), np.stack([dist, dist]), ["ms-ssim-rgb-db"])
    assert "ms-ssim-rgb-db" not in str(info.value).split("choose from:")[1]


def test_bad_requests_fail_before_work(pair) -> None:
    ref, dist = pair
    with pytest.raises(UnknownNameError, match="unknown metric 'ssim'; choose from: lpips-alex") as info:
        compute_metrics(ref, dist[:10], ["psnr-rgb", "ssim"])
    assert "\n" not in str(info.value) and str(info.value).endswith(", ".join(sorted(ALL)))
    with pytest.raises(DataError, match="differ in shape"):
        compute_metrics(ref, dist[:10], ["psnr-rgb"])


def test_pyiqa_absent_gives_no_extras(pair, monkeypatch: pytest.MonkeyPatch) -> None:
    ref, dist = pair
    monkeypatch.setitem(sys.modules, "pyiqa", None)  # how find_spec sees an uninstalled package
    assert available() is False
    assert extra_metrics(ref, dist) == {}


def test_this_environment_has_no_pyiqa(pair) -> None:
    """pyiqa must stay opt-in (non-commercial licence, imports torchvision)."""
    if importlib.util.find_spec("pyiqa") is not None:
        pytest.skip("pyiqa installed here by choice")
    assert not available() and extra_metrics(*pair) == {}


def test_scoring_loads_no_video_or_data_io() -> None:
    """The issue's complaint: metrics imported bench.video, bench.data and bench.y4m."""
    code = """
import sys
import numpy as np
from bench.metrics import METRICS, sequence_metrics
frames = np.random.default_rng(0).integers(0, 256, (2, 176, 176, 3), dtype=np.uint8)
sequence_metrics(frames, frames[::-1].copy(), [k for k in METRICS.names() if k != "ms-ssim-rgb-db"])
print(sorted(m for m in sys.modules if m.split(".")[:2] in (["bench", "video"], ["bench", "data"], ["bench", "y4m"])))
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True, env=env)
    assert out.stdout.strip() == "[]"
