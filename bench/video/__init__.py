"""Video clips: planes as stored plus their colour facts, and y4m / raw .yuv / PNG-folder I/O."""

from bench.colour import MATRICES, RANGES
from bench.video.clip import CHROMAS, Clip, clip_from_rgb
from bench.video.io import (
    parse_yuv_name,
    read_png_frames,
    read_video,
    read_y4m,
    read_yuv,
    write_png_frames,
    write_y4m,
    write_yuv,
    yuv_name,
)

__all__ = [
    "CHROMAS",
    "MATRICES",
    "RANGES",
    "Clip",
    "clip_from_rgb",
    "parse_yuv_name",
    "read_png_frames",
    "read_video",
    "read_y4m",
    "read_yuv",
    "write_png_frames",
    "write_y4m",
    "write_yuv",
    "yuv_name",
]
