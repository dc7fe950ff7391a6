"""Issue #18, inputs: size limits from headers, rate points checked against their codec at plan time, damaged
headers, paths that look like markup or ffmpeg protocols, a broken ffmpeg, and metrics in bounded memory
giving the values of the whole-image computation."""

from __future__ import annotations

import io
import json
import math
import os
import stat
import struct
import subprocess
import sys
import zlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from bench.config import DatasetConfig, parse_config
from bench.data import load_image
from bench.errors import ConfigError, DataError
from bench.image_header import DEFAULT_MAX_PIXELS, image_size
from bench.metrics.common import BLOCK_BYTES, rgb_to_luma, rgb_to_ycbcr
from bench.metrics.lpips import get_lpips, lpips_distance, tiled_distance
from bench.metrics.msssim import ms_ssim, ms_ssim_plane
from bench.metrics.psnr import psnr_rgb, psnr_y, psnr_yuv, psnr_yuv_pooled
from bench.plan import build_plan
from bench.y4m import read_y4m_header, write_y4m

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("SANDWICH_FFMPEG", "IMAGEIO_FFMPEG_EXE")}
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**base, "PYTHONPATH": str(REPO), "COLUMNS": "80", **env},
    )


def one_error_line(exit_code: int, stderr: str) -> str:
    assert exit_code == 2, stderr
    lines = [ln for ln in stderr.splitlines() if not ln.startswith("[bench]")]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def zero_png(width: int, height: int) -> bytes:
    """A valid 8-bit gray PNG of zeros, made without compressing width x height bytes: after a full flush
    deflate codes every further zero row to the same bytes, so the IDAT repeats one row's code."""
    row = bytes(width + 1)  # filter byte 0 + samples
    z = zlib.compressobj(9)
    first = z.compress(row) + z.flush(zlib.Z_FULL_FLUSH)
    again = z.compress(row) + z.flush(zlib.Z_FULL_FLUSH)
    final_block = z.flush()[:-4]  # its Adler-32 covers two rows only
    adler = ((len(row) * height % 65521) << 16) | 1  # Adler-32 of n zero bytes: A = 1, B = n mod 65521
    idat = first + again * (height - 1) + final_block + adler.to_bytes(4, "big")

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def image_doc(folder: Path, **eval_over: Any) -> dict[str, Any]:
    return {
        "name": "r",
        "scenario": "rgb",
        "data": {"eval": {"folder": str(folder), **eval_over}},
        "evaluation": {"metrics": ["psnr-rgb"]},
        "methods": [{"name": "jpeg", "kind": "codec", "codec": "jpeg", "rate_points": [50]}],
    }


def test_zero_png_builder_makes_a_real_png() -> None:
    img = np.asarray(Image.open(io.BytesIO(zero_png(300, 200))))
    assert img.shape == (200, 300) and not img.any()


def test_a_decompression_bomb_is_refused_from_its_header(bench_app, tmp_path: Path) -> None:
    """30000 x 30000 pixels in a file of under 2 MB: refused by the plan, naming file, size and key."""
    (tmp_path / "bomb.png").write_bytes(zero_png(30000, 30000))
    assert (tmp_path / "bomb.png").stat().st_size < 2 << 20
    with pytest.raises(DataError) as err:
        build_plan(parse_config(image_doc(tmp_path)))
    assert str(err.value) == (
        f"{tmp_path / 'bomb.png'} is 30000x30000 (900,000,000 pixels), more than "
        f"data.eval.max_pixels = {DEFAULT_MAX_PIXELS:,}; crop or downscale it, or raise "
        "data.eval.max_pixels"
    )
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(image_doc(tmp_path)))
    res = bench_app("run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "runs"))
    line = one_error_line(res.exit_code, res.stderr)
    assert "bomb.png is 30000x30000" in line and not (tmp_path / "runs").exists()


def test_max_pixels_is_the_key_that_moves_the_limit(tmp_path: Path) -> None:
    Image.fromarray(np.full((48, 64, 3), 90, np.uint8)).save(tmp_path / "a.png")
    with pytest.raises(DataError, match=r"a.png is 64x48 \(3,072 pixels\), more than data.eval.max_pixels = 3,000"):
        build_plan(parse_config(image_doc(tmp_path, max_pixels=3000)))
    assert build_plan(parse_config(image_doc(tmp_path, max_pixels=3072))).sources["a"].frames.shape == (1, 48, 64, 3)
    # the default stays out of the dump, so existing experiments keep their config hash and run folder
    assert "max_pixels" not in parse_config(image_doc(tmp_path)).canonical()["data"]["eval"]
    assert DatasetConfig(set="kodak").max_pixels == DEFAULT_MAX_PIXELS == 8192 * 8192


@pytest.mark.parametrize(
    "name",
    [
        "kodak/kodim01.png",
        "train/bsds500/test_100007.jpg",
        "hdr/Desk.exr",
        "hdr/memorial.hdr",
        "highbit/spring_float16.tif",
        "highbit/seine_hdr_srgb.avif",
        "highbit/sunset-hlg_f0_1920x1080_yuv420p10.y4m",
    ],
)
def test_header_sizes_are_the_decoded_sizes(data_dir: Path, name: str) -> None:
    path = data_dir / name
    if not path.is_file():
        pytest.skip(f"{name} is not in this copy of the shared data")
    img = load_image(path)
    assert image_size(path) == (img.shape[1], img.shape[0])


@pytest.mark.parametrize(
    "point, message",
    [
        (0, "jpeg quality must be an integer in 1..100, got 0"),
        (150, "jpeg quality must be an integer in 1..100, got 150"),
        (30.5, "jpeg quality must be an integer in 1..100, got 30.5"),
        (30.0000001, "jpeg quality must be an integer in 1..100, got 30.0000001"),
        (math.nan, "jpeg quality must be an integer in 1..100, got nan"),
    ],
)
def test_rate_points_outside_the_codec_fail_the_plan_before_any_data(
    tmp_path: Path, point: float, message: str
) -> None:
    doc = image_doc(tmp_path / "not-read")  # the folder does not exist: the rate points fail first
    doc["methods"] = [
        {"name": "ok", "kind": "codec", "codec": "jpeg", "rate_points": [50]},
        {"name": "jpeg", "kind": "codec", "codec": "jpeg", "rate_points": [30, point]},
    ]
    with pytest.raises(ConfigError) as err:
        build_plan(parse_config(doc))
    assert str(err.value) == f"methods.1 (jpeg).rate_points.1: {message}"


@pytest.mark.parametrize(
    "method, message",
    [
        (
            {"codec": "jpeg", "options": {"tables": "flat"}, "rate_points": [8, 0]},
            r"rate_points.1: jpeg flat-table step must be a finite number > 0, got 0",
        ),
        ({"codec": "jpeg12", "rate_points": [101]}, r"rate_points.0: jpeg12 quality must be an integer in 1..100"),
        ({"codec": "hevc", "rate_points": [30, 52]}, r"rate_points.1: hevc qp must be an integer in 0..51, got 52"),
        ({"codec": "av1", "rate_points": [-1]}, r"rate_points.0: av1 qp must be an integer in 0..63, got -1"),
    ],
)
def test_every_codec_declares_its_range(tmp_path: Path, method: dict[str, Any], message: str) -> None:
    doc = image_doc(tmp_path)
    doc["methods"] = [{"name": "m", "kind": "codec", **method}]
    with pytest.raises(ConfigError, match=message):
        build_plan(parse_config(doc))


@pytest.mark.parametrize(
    "codec, message",
    [
        (
            "x265",
            r"codec: 'x265' is a video codec \(low-delay P\); an image experiment takes: av1, hevc, jpeg, jpeg12$",
        ),
        ("jpeg2000", r"codec: unknown codec 'jpeg2000'; choose from: av1, hevc, jpeg, jpeg12$"),
    ],
)
def test_an_image_experiment_takes_intra_codecs(tmp_path: Path, codec: str, message: str) -> None:
    doc = image_doc(tmp_path)
    doc["methods"] = [{"name": "m", "kind": "codec", "codec": codec, "rate_points": [30]}]
    with pytest.raises(ConfigError, match=message):
        build_plan(parse_config(doc))


def test_sandwich_rate_points_are_checked_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"step_factors multiply the trained step.*got \[0.0\]"):
        parse_config(
            {
                **image_doc(tmp_path),
                "methods": [{"name": "s", "kind": "sandwich", "lambdas": [1.0], "step_factors": [1.0, 0.0]}],
            }
        )
    Image.fromarray(np.full((48, 64, 3), 90, np.uint8)).save(tmp_path / "a.png")
    doc = {
        **image_doc(tmp_path),
        "scenario": "gray400",
        "data": {"eval": {"folder": str(tmp_path)}, "train": {"set": "skimage"}},
    }
    doc["methods"] = [
        {
            "name": "jpeg-400",
            "kind": "codec",
            "codec": "jpeg",
            "adapt": "luma",
            "options": {"mode": "gray"},
            "rate_points": [20, 50],
        },
        {
            "name": "s",
            "kind": "sandwich",
            "wraps": "jpeg-400",
            "lambdas": [1.0],
            "pre": {"unet": False},
            "post": {"unet": False},
            "train": {"rate_points": [50, 75]},
        },
    ]
    with pytest.raises(
        ConfigError,
        match=r"methods.1 \(s\).train.rate_points: 75 not among the rate points of "
        r"'jpeg-400' \(20, 50\)",
    ):
        build_plan(parse_config(doc))


@pytest.mark.parametrize(
    "header, message",
    [
        (b"YUV4MPEG2 W-16 H16 F25:1 C420jpeg", "y4m header gives size -16x16 at 25 fps"),
        (b"YUV4MPEG2 W16 H0 F25:1 C420jpeg", "y4m header gives size 16x0"),
        (b"YUV4MPEG2 W16 H16 F0:1 C420jpeg", "y4m header gives size 16x16 at 0 fps"),
        (b"YUV4MPEG2 W16 Hx16 F25:1", "lacks a valid W, H or F"),
    ],
)
def test_a_y4m_with_a_bad_header_is_one_data_error(tmp_path: Path, header: bytes, message: str) -> None:
    clip = tmp_path / "bad.y4m"
    clip.write_bytes(header + b"\nFRAME\n" + bytes(384))
    with pytest.raises(DataError, match=message):
        read_y4m_header(clip)
    doc = {
        "name": "v",
        "scenario": "rgb",
        "data": {"eval": {"video": str(clip)}},
        "evaluation": {"metrics": ["psnr-rgb"]},
        "methods": [{"name": "x264", "kind": "codec", "codec": "x264", "rate_points": [30]}],
    }
    with pytest.raises(DataError, match=message):
        build_plan(parse_config(doc))


def test_paths_with_brackets_print_literally(bench_app, tmp_path: Path) -> None:
    """rich would read [red]...[/] as markup (and :smile: as an emoji): the error line prints the path as it is."""
    path = tmp_path / "[red]run[/] [draft] :smile:.yaml"
    res = bench_app("run", str(path))
    assert one_error_line(res.exit_code, res.stderr) == f"error: experiment file not found: {path}"
    folder = tmp_path / "photos [2024]"  # a folder name is not a glob pattern either
    folder.mkdir()
    Image.fromarray(np.full((48, 64, 3), 90, np.uint8)).save(folder / "a.png")
    with pytest.raises(DataError, match=r"^.*/photos \[2024\]/a.png is 64x48"):
        build_plan(parse_config(image_doc(folder, max_pixels=100)))


def test_a_multi_line_message_prints_as_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.cli import print_error

    print_error("ffmpeg failed at [qp=30]\n  x265 [error]: bad\n")
    assert capsys.readouterr().err == "error: ffmpeg failed at [qp=30] / x265 [error]: bad\n"


@pytest.mark.slow  # VMAF through ffmpeg
def test_a_file_named_like_an_ffmpeg_protocol_is_read_as_a_file(
    bench_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ffmpeg reads 'clip:1.y4m' as protocol 'clip'; the VMAF inputs go in as file: paths."""
    rng = np.random.default_rng(0)
    luma = [np.clip(rng.normal(128, 40, (64, 64)), 0, 255).astype(np.uint8) for _ in range(2)]
    grey = np.full((32, 32), 128, np.uint8)
    write_y4m(tmp_path / "ref.y4m", [(y, grey, grey) for y in luma], fps=Fraction(25))
    write_y4m(tmp_path / "clip:1.y4m", [(y // 4 * 4, grey, grey) for y in luma], fps=Fraction(25))
    monkeypatch.chdir(tmp_path)
    res = bench_app("metrics", "ref.y4m", "clip:1.y4m", "--json")
    assert res.exit_code == 0, res.output
    assert 0 < json.loads(res.stdout)["vmaf"] <= 100


@pytest.mark.slow  # a fresh process: find_ffmpeg is cached per process
@pytest.mark.parametrize("content, mode", [("not a program\n", 0o644), ("#!/bin/sh\nexit 3\n", 0o755)])
def test_a_broken_imageio_ffmpeg_exe_is_one_error_line(tmp_path: Path, content: str, mode: int) -> None:
    fake = tmp_path / "ffmpeg"
    fake.write_text(content)
    fake.chmod(mode)
    Image.fromarray(np.full((48, 64, 3), 90, np.uint8)).save(tmp_path / "a.png")
    doc = image_doc(tmp_path)
    doc["methods"] = [{"name": "hevc", "kind": "codec", "codec": "hevc", "rate_points": [30]}]
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(doc))
    proc = cli("run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "runs"), IMAGEIO_FFMPEG_EXE=str(fake))
    line = one_error_line(proc.returncode, proc.stderr)
    assert line.startswith(f"error: IMAGEIO_FFMPEG_EXE='{fake}' ")
    assert ("is not an executable file" if not mode & stat.S_IXUSR else "is not a working ffmpeg") in line
    assert line.endswith("point it at a working ffmpeg, or unset it to use the one bundled with imageio-ffmpeg")


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert(Image.fromarray(img).mode))


@pytest.mark.slow  # float64 MS-SSIM of a 333x451 image, twice
@pytest.mark.parametrize("scale", [1, 257])
def test_banded_ms_ssim_equals_the_whole_image_computation(kodim, scale: int) -> None:
    """Bands of 7 rows at every scale, on odd sizes, 8 and 16 bit: the same value as the whole-tensor torch path."""
    ref = kodim(7, crop=(333, 451))
    dist = _jpeg(ref, 20)
    dtype, peak = (np.uint8, 255.0) if scale == 1 else (np.uint16, 65535.0)
    ref, dist = ref.astype(dtype) * dtype(scale), dist.astype(dtype) * dtype(scale)

    def plane(img: np.ndarray, c: int) -> torch.Tensor:
        return torch.from_numpy(img[..., c].astype(np.float64))[None, None]

    whole = [float(ms_ssim(plane(ref, c), plane(dist, c), peak)[0]) for c in range(3)]
    banded = [ms_ssim_plane(ref[..., c], dist[..., c], peak, band_bytes=7 * 8 * 451) for c in range(3)]
    assert banded == pytest.approx(whole, abs=1e-12) and 0.9 < min(banded) < 1


@pytest.mark.slow  # a 33 MB image, coded and measured twice
def test_blocked_psnr_equals_the_whole_image_mse(kodim) -> None:
    """An image over one block (32 MB of float64 rows) is summed block by block: same PSNRs as whole-image means."""
    rows = BLOCK_BYTES // (8 * 768 * 3) + 50
    ref = np.ascontiguousarray(np.tile(kodim(3), (math.ceil(rows / 512), 1, 1))[:rows])
    dist = _jpeg(ref, 30)

    def db(a: np.ndarray, b: np.ndarray) -> float:
        return 10 * math.log10(255.0**2 / float(np.mean((a - b) ** 2)))

    yuv = [db(a, b) for a, b in zip(rgb_to_ycbcr(ref, 8), rgb_to_ycbcr(dist, 8), strict=True)]
    pooled = np.stack(rgb_to_ycbcr(ref, 8)) - np.stack(rgb_to_ycbcr(dist, 8))
    assert psnr_rgb(ref, dist) == pytest.approx(db(ref.astype(np.float64), dist.astype(np.float64)), abs=1e-9)
    assert psnr_y(ref, dist) == pytest.approx(db(rgb_to_luma(ref), rgb_to_luma(dist)), abs=1e-9)
    assert psnr_yuv(ref, dist) == pytest.approx((6 * yuv[0] + yuv[1] + yuv[2]) / 8, abs=1e-9)
    assert psnr_yuv_pooled(ref, dist) == pytest.approx(10 * math.log10(255.0**2 / float(np.mean(pooled**2))), abs=1e-9)


@pytest.mark.slow  # LPIPS on whole Kodak images, tiled and untiled
@pytest.mark.parametrize(
    "net, crop, tile", [("alex", (512, 768), 128), ("alex", (512, 768), 256), ("vgg", (208, 272), 128)]
)
def test_tiled_lpips_equals_the_whole_image(kodim, net: str, crop: tuple[int, int], tile: int) -> None:
    """Tiles with their halo give every tap's untiled values: equal up to float32 summation order
    (a halo of 64 pixels instead of 128 is off by 2e-4 with alex, 2e-6 with vgg)."""
    ref = kodim(7, crop=crop)
    dist = _jpeg(ref, 20)
    whole = lpips_distance(ref, dist, net, cache=False)
    assert tiled_distance(get_lpips(net), ref, dist, 8, tile) == pytest.approx(whole, rel=1e-6)
