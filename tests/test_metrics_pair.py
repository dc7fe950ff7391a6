"""``metrics_for_pair`` and the ``bench metrics`` command on real image files and y4m clips."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from bench.errors import DataError
from bench.metrics import METRICS, compute_metrics
from bench.metrics.pair import metrics_for_pair
from bench.y4m import write_y4m, y4m_frames

KEYS = set(METRICS.names())  # the registry spelling, as in result files


@pytest.fixture(scope="module")
def files(kodim, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A Kodak crop as PNG, its JPEG (q=30), and the same pair as 16-bit PNGs."""
    root = tmp_path_factory.mktemp("pair")
    ref = kodim(21, crop=(176, 208))
    Image.fromarray(ref).save(root / "ref.png")
    Image.fromarray(ref).save(root / "dist.jpg", quality=30)
    dist = np.asarray(Image.open(root / "dist.jpg").convert("RGB"))
    for name, img in (("ref16.png", ref), ("dist16.png", dist)):  # OpenCV writes BGR
        cv2.imwrite(str(root / name), img[..., ::-1].astype(np.uint16) * 257)
    Image.fromarray(ref[:100, :120]).save(root / "small.png")
    (root / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 50)
    return {p.name: p for p in root.iterdir()}


@pytest.mark.slow  # every metric, VMAF and both LPIPS nets included
def test_image_pair_has_every_metric(files: dict[str, Path]) -> None:
    out = metrics_for_pair(files["ref.png"], files["dist.jpg"])
    assert set(out) - {"meta"} == KEYS
    ref = np.asarray(Image.open(files["ref.png"]))
    dist = np.asarray(Image.open(files["dist.jpg"]).convert("RGB"))
    assert {k: out[k] for k in KEYS} == compute_metrics(ref, dist, KEYS)
    assert 20 < out["psnr-rgb"] < 40 and 0 < out["lpips-alex"] < 0.5 and 50 < out["vmaf"] < 97.4
    assert out["meta"] == {
        "kind": "image",
        "width": 208,
        "height": 176,
        "channels": 3,
        "bitdepth": 8,
        "vmaf_input": "BT.601 limited range, YUV 4:4:4",
        "notes": [],
    }


@pytest.mark.slow  # every metric, VMAF and both LPIPS nets included
def test_16bit_png_is_read_at_16_bit(files: dict[str, Path]) -> None:
    """x·257 keeps PSNR and MS-SSIM exactly; a truncating 8-bit reader would not say 16-bit."""
    eight = metrics_for_pair(files["ref.png"], files["dist.jpg"])
    sixteen = metrics_for_pair(files["ref16.png"], files["dist16.png"])
    assert sixteen["meta"]["bitdepth"] == 16
    for key in ("psnr-rgb", "psnr-y", "psnr-yuv", "psnr-yuv-pooled", "ms-ssim-rgb", "ms-ssim-rgb-db"):
        assert sixteen[key] == pytest.approx(eight[key], abs=1e-6)


@pytest.mark.slow  # every metric, VMAF and both LPIPS nets included
def test_small_images_skip_what_cannot_run_with_a_note(files: dict[str, Path], tmp_path: Path) -> None:
    out = metrics_for_pair(files["small.png"], files["small.png"])
    assert "ms-ssim-rgb" not in out and out["psnr-rgb"] == float("inf") and "vmaf" in out
    assert out["meta"]["notes"] == [
        f"{k} skipped: needs at least 161x161 pixels, got 120x100" for k in ("ms-ssim-rgb", "ms-ssim-rgb-db")
    ]
    tiny = tmp_path / "tiny.png"
    Image.open(files["small.png"]).crop((0, 0, 40, 16)).save(tiny)
    out = metrics_for_pair(tiny, tiny)
    assert set(out) - {"meta"} == KEYS - {"ms-ssim-rgb", "ms-ssim-rgb-db", "vmaf", "vmaf-neg", "lpips-alex"}
    assert "vmaf-neg skipped: needs at least 17x17 pixels, got 40x16" in out["meta"]["notes"]
    assert "lpips-alex skipped: needs at least 31x31 pixels, got 40x16" in out["meta"]["notes"]


def test_bad_inputs_raise_one_line_data_errors(files: dict[str, Path], data_dir: Path) -> None:
    cases = [
        (files["ref.png"], files["ref.png"].with_name("nope.png"), "file not found"),
        (files["ref.png"], files["corrupt.png"], "cannot decode"),
        (files["ref.png"], files["small.png"], "images differ: ref.png is 208x176x3"),
        (files["ref.png"], files["ref16.png"], "8-bit.*16-bit"),
        (
            data_dir / "video" / "park_joy_420_720p50_frm0to9_480x270.y4m",
            files["ref.png"],
            "cannot compare a clip with an image",
        ),
    ]
    for ref, dist, msg in cases:
        with pytest.raises(DataError, match=msg) as info:
            metrics_for_pair(ref, dist)
        assert "\n" not in str(info.value)


@pytest.mark.slow  # every metric, VMAF and both LPIPS nets included
def test_y4m_pair_averages_frames_and_runs_vmaf_once_per_model(data_dir: Path, tmp_path: Path) -> None:
    src = data_dir / "video" / "park_joy_420_720p50_frm0to9_480x270.y4m"
    crop = [(y[:176, :192], u[:88, :96], v[:88, :96]) for _, (y, u, v) in zip(range(2), y4m_frames(src), strict=False)]
    rng = np.random.default_rng(3)
    noisy = [
        tuple(np.clip(p.astype(int) + rng.integers(-8, 9, p.shape), 0, 255).astype(np.uint8) for p in f) for f in crop
    ]
    write_y4m(tmp_path / "ref.y4m", crop)
    write_y4m(tmp_path / "dist.y4m", noisy)
    out = metrics_for_pair(tmp_path / "ref.y4m", tmp_path / "dist.y4m")
    assert set(out) - {"meta"} == KEYS - {"ms-ssim-rgb-db"} and out["meta"]["frames"] == 2  # an image metric
    per_frame = [
        10 * np.log10(255**2 / np.mean((a[0].astype(float) - b[0]) ** 2)) for a, b in zip(crop, noisy, strict=True)
    ]
    assert out["psnr-y"] == pytest.approx(np.mean(per_frame), abs=1e-9)
    assert 25 < out["psnr-rgb"] < out["psnr-y"] + 3 and 0 < out["vmaf"] < 99
    write_y4m(tmp_path / "three.y4m", crop + crop[:1])
    with pytest.raises(DataError, match="clips differ: .* 2 frames, three.y4m is .* 3 frames"):
        metrics_for_pair(tmp_path / "ref.y4m", tmp_path / "three.y4m")


@pytest.mark.slow  # every metric, VMAF and both LPIPS nets included
def test_cli_prints_json_or_a_table(bench_app, files: dict[str, Path]) -> None:
    res = bench_app("metrics", str(files["ref.png"]), str(files["ref.png"]), "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) - {"meta"} == KEYS and data["psnr-rgb"] is None and data["ms-ssim-rgb"] == 1.0
    res = bench_app("metrics", str(files["ref.png"]), str(files["dist.jpg"]))
    assert res.exit_code == 0 and "lpips-vgg" in res.stdout and "208x176, 8-bit" in res.stdout
    res = bench_app("metrics", str(files["ref.png"]), str(files["small.png"]))
    assert res.exit_code == 2 and res.stderr.startswith("error: ") and len(res.stderr.strip().splitlines()) == 1
