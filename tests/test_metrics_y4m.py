"""The y4m reader/writer against ffmpeg's own y4m demuxer (byte-for-byte)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from bench.codecs.ffmpeg_tools import run_ffmpeg
from bench.errors import DataError
from bench.y4m import plane_shapes, read_y4m_header, write_y4m, y4m_frames

PARK_JOY = "park_joy_420_720p50_frm0to9_480x270.y4m"


def _ffmpeg_raw(path: Path, pix_fmt: str) -> bytes:
    """What ffmpeg decodes from a y4m, as raw planes in the file's own format."""
    return run_ffmpeg(["-i", str(path), "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"], what="y4m", param=path.name).stdout


def _planes_bytes(frames) -> bytes:
    return b"".join(p.astype(p.dtype.newbyteorder("<")).tobytes() for f in frames for p in f)


def test_reads_park_joy_like_ffmpeg(data_dir: Path) -> None:
    path = data_dir / "video" / PARK_JOY
    hdr = read_y4m_header(path)
    assert (hdr.width, hdr.height, hdr.fps, hdr.chroma, hdr.bitdepth, hdr.n_frames) == (
        480,
        270,
        Fraction(50),
        "420",
        8,
        10,
    )
    assert hdr.pix_fmt == "yuv420p" and hdr.frame_bytes == 194400
    frames = list(y4m_frames(path))
    assert [p.shape for p in frames[0]] == [(270, 480), (135, 240), (135, 240)]
    assert _planes_bytes(frames) == _ffmpeg_raw(path, "yuv420p")


@pytest.mark.parametrize(
    ("chroma", "bitdepth", "pix_fmt"),
    [
        ("444", 10, "yuv444p10le"),
        ("422", 10, "yuv422p10le"),
        ("mono", 8, "gray"),
        ("420", 10, "yuv420p10le"),
        ("444", 8, "yuv444p"),
    ],
)
def test_written_files_round_trip_and_ffmpeg_agrees(tmp_path: Path, chroma: str, bitdepth: int, pix_fmt: str) -> None:
    rng = np.random.default_rng(bitdepth)
    dtype = np.uint8 if bitdepth == 8 else np.uint16
    frames = [
        tuple(rng.integers(0, 2**bitdepth, s).astype(dtype) for s in plane_shapes(34, 22, chroma)) for _ in range(3)
    ]
    path = tmp_path / "clip.y4m"
    write_y4m(path, frames, chroma=chroma, bitdepth=bitdepth, fps=Fraction(30000, 1001))
    hdr = read_y4m_header(path)
    assert (hdr.pix_fmt, hdr.n_frames, hdr.fps) == (pix_fmt, 3, Fraction(30000, 1001))
    back = list(y4m_frames(path))
    assert all(np.array_equal(a, b) for fa, fb in zip(frames, back, strict=True) for a, b in zip(fa, fb, strict=True))
    assert _planes_bytes(back) == _ffmpeg_raw(path, pix_fmt)


def test_bad_files_raise_data_errors(data_dir: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.y4m"
    cut.write_bytes((data_dir / "video" / PARK_JOY).read_bytes()[:-1000])
    with pytest.raises(DataError, match="frame 9 is truncated"):
        read_y4m_header(cut)
    junk = tmp_path / "junk.y4m"
    junk.write_bytes(b"not a video\n")
    with pytest.raises(DataError, match="not a y4m file"):
        read_y4m_header(junk)
    odd = tmp_path / "odd.y4m"
    odd.write_bytes(b"YUV4MPEG2 W4 H4 F25:1 C411\n")
    with pytest.raises(DataError, match="unsupported y4m colour space C411"):
        read_y4m_header(odd)
    with pytest.raises(DataError, match="outside 8-bit range"):
        write_y4m(tmp_path / "x.y4m", [(np.full((2, 2), 300, np.uint16),)], chroma="mono")
