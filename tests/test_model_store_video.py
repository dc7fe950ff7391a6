"""A video sandwich trained by ``bench run`` codes a clip into an HEVC stream that ffmpeg plays (issue #17).

A tiny real run (gray400 through x265 4:0:0, a 2-step sandwich wrapping it, 3 frames of BasketballPass
cropped to 64 x 96 as a PNG folder); then ``bench encode`` / ``decode`` on the same frames, checked
against ffmpeg's own decoder (the CLI, not our code) and the run's cell.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from bench.codecs.ffmpeg_tools import find_ffmpeg
from bench.runner import RunOptions, run_experiment
from bench.video.io import read_png_frames, write_png_frames
from sandwich import store
from sandwich.rebuild import member_from_card

pytestmark = pytest.mark.slow  # real training, x265 and ffmpeg

QP, FPS = 32, 50


@pytest.fixture(scope="module")
def video_model(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, Path, Path]:
    """(the eval PNG folder, --out, the run folder)."""
    tmp = tmp_path_factory.mktemp("video-store")
    frames = read_png_frames(data_dir / "video" / "BasketballPass_416x240_100f", frames=3)[:, 80:144, 160:256]
    clip = tmp / "clip"
    write_png_frames(clip, frames)
    doc = {
        "name": "video-store",
        "scenario": "gray400",
        "seed": 0,
        "data": {
            "eval": {"video": str(clip), "fps": FPS},
            "train": {"video": [str(data_dir / "video" / "foreman_176x144_30fps.yuv")], "frames": 4},
        },
        "evaluation": {"metrics": ["psnr-yuv"], "anchor": "x265-400", "bootstrap": 20},
        "methods": [
            {
                "name": "x265-400",
                "kind": "codec",
                "codec": "x265",
                "adapt": "luma",
                "options": {"chroma": "400"},
                "rate_points": [QP],
            },
            {
                "name": "s",
                "kind": "sandwich",
                "wraps": "x265-400",
                "lambdas": [1.0],
                "pre": {"encoder": [4], "decoder": [4, 4], "init": "conventional"},
                "post": {"encoder": [4], "decoder": [4, 4], "init": "conventional"},
                "train": {"steps": 2, "batch": 1, "crop": 32, "check_every": 2, "log_every": 1},
                "video": {"frames": 3},
            },
        ],
    }
    cfg = tmp / "video.yaml"
    cfg.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp / "runs"
    return clip, out, run_experiment(cfg, RunOptions(out=out))


def test_a_clip_round_trips_through_a_standard_hevc_stream(
    video_model: tuple[Path, Path, Path], tmp_path: Path, bench_app
) -> None:
    clip, out, run_dir = video_model
    folder = store.linked_model(run_dir / "methods" / "s.g1")
    assert folder is not None and store.load_card(folder)["modality"] == "video"

    stream = tmp_path / "clip.hevc"
    res = bench_app("encode", str(clip), "--model", str(folder), "-o", str(stream), "-q", str(QP), "--fps", str(FPS))
    assert res.exit_code == 0, res.output
    cell = json.loads((run_dir / "cells" / "s.g1" / f"{QP}.json").read_text())
    assert stream.stat().st_size == cell["rows"][0]["nbytes"], "the file is the stream the evaluation counted"

    # ffmpeg's own decoder plays it: 3 gray frames of the 64 x 96 bottleneck
    raw = subprocess.run(
        [find_ffmpeg(), "-loglevel", "error", "-i", str(stream), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True,
        check=True,
    ).stdout
    played = np.frombuffer(raw, np.uint8).reshape(3, 64, 96, 1)

    recon_dir = tmp_path / "recon"
    res = bench_app("decode", str(stream), "--model", str(folder), "-o", str(recon_dir), "--reference", str(clip))
    assert res.exit_code == 0, res.output
    assert "PSNR against" in res.stderr, res.stderr
    ours = read_png_frames(recon_dir)
    member, _ = member_from_card(folder)
    member.coding.real_qp(QP)
    expected = np.stack([member.model.reconstruct(f, (64, 96)) for f in played])
    assert np.array_equal(ours, expected), "decode = ffmpeg's frames through the trained post-processor"


def test_a_video_stream_needs_its_header_and_the_right_suffix(
    video_model: tuple[Path, Path, Path], tmp_path: Path, bench_app
) -> None:
    clip, _, run_dir = video_model
    folder = store.linked_model(run_dir / "methods" / "s.g1")
    assert folder is not None
    res = bench_app("encode", str(clip), "--model", str(folder), "-o", str(tmp_path / "c.jpg"), "--fps", "50")
    assert res.exit_code == 2 and "writes a hevc stream; name the file .hevc" in res.stderr, res.output
    stream = tmp_path / "c.hevc"
    assert bench_app("encode", str(clip), "--model", str(folder), "-o", str(stream), "--fps", "50").exit_code == 0
    Path(f"{stream}.json").unlink()
    res = bench_app("decode", str(stream), "--model", str(folder), "-o", str(tmp_path / "r"))
    assert res.exit_code == 2 and "clip.hevc.json" not in res.stderr and "is missing or unreadable" in res.stderr
