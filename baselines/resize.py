"""Pillow resamplers for the conventional low-resolution baseline (the paper's bicubic ↓ / Lanczos3 ↑).

Pillow's reducing filters are antialiased (support scaled by the factor), which is what "bicubic
antialiased ↓2" means in METHOD §2; the proxy's torch resamplers are tested against these.
Odd sizes are edge-padded to a multiple of the factor and cropped back after upsampling.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

FILTERS = {"bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}


def _resize_planes(img: np.ndarray, size: tuple[int, int], kernel: str) -> np.ndarray:
    """Float resize of every channel of H x W x C to ``size`` = (W, H)."""
    planes = [
        np.asarray(Image.fromarray(img[:, :, c].astype(np.float32), mode="F").resize(size, FILTERS[kernel]))
        for c in range(img.shape[2])
    ]
    return np.stack(planes, axis=-1)


def pad_to_multiple(img: np.ndarray, m: int) -> np.ndarray:
    h, w = img.shape[:2]
    return np.pad(img, ((0, -h % m), (0, -w % m), (0, 0)), mode="edge")


def down_float(img: np.ndarray, factor: int, kernel: str = "bicubic") -> np.ndarray:
    """Antialiased ↓factor (padded to a multiple first), before rounding (float32)."""
    padded = pad_to_multiple(img, factor)
    h, w = padded.shape[:2]
    return _resize_planes(padded, (w // factor, h // factor), kernel)


def down(img: np.ndarray, factor: int, kernel: str = "bicubic") -> np.ndarray:
    """Antialiased ↓factor of an integer image (padded to a multiple first), rounded to its dtype."""
    peak = np.iinfo(img.dtype).max
    return np.clip(np.rint(down_float(img, factor, kernel)), 0, peak).astype(img.dtype)


def up_float(img: np.ndarray, factor: int, size: tuple[int, int], kernel: str = "lanczos") -> np.ndarray:
    """↑factor then crop to ``size`` = (H, W), before rounding (float32)."""
    h, w = img.shape[:2]
    return _resize_planes(img, (w * factor, h * factor), kernel)[: size[0], : size[1]]


def up(img: np.ndarray, factor: int, size: tuple[int, int], kernel: str = "lanczos") -> np.ndarray:
    """↑factor then crop to ``size`` = (H, W), rounded to the input dtype."""
    peak = np.iinfo(img.dtype).max
    return np.clip(np.rint(up_float(img, factor, size, kernel)), 0, peak).astype(img.dtype)
