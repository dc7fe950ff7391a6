"""Input checks and colour conversions shared by every metric.

Images are numpy ``H x W x C`` (``H x W`` is taken as one channel): uint8 for 8-bit, uint16 for
9–16-bit with an explicit ``bitdepth``. Floats are refused: metrics measure what a decoder
outputs, so round first. All arithmetic here is float64, over blocks of rows (:func:`row_blocks`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from bench.colour import BT601_KB, BT601_KR, BT601_LUMA  # full-range YCbCr as in JPEG/JFIF
from bench.errors import DataError

# Metrics convert a block of rows at a time, so no image is ever held whole in float64: one such
# copy of an 8000x8000 RGB image is 1.5 GB, and a metric makes several.
BLOCK_BYTES = 32 << 20


def row_blocks(height: int, row_bytes: int, budget: int = BLOCK_BYTES) -> Iterator[slice]:
    """Consecutive row slices covering ``height`` rows, each at most ``budget`` bytes (one row at least)."""
    step = max(1, budget // max(1, row_bytes))
    for start in range(0, height, step):
        yield slice(start, min(height, start + step))


def peak(bitdepth: int) -> float:
    """Largest code value, the PSNR/SSIM data range: 2^d - 1."""
    return float(2**bitdepth - 1)


def as_hwc(img: np.ndarray, name: str, bitdepth: int) -> np.ndarray:
    """Return ``img`` as H x W x C after checking dtype, bit depth and value range."""
    if not isinstance(img, np.ndarray):
        raise DataError(f"{name}: expected a numpy array, got {type(img).__name__}")
    if not 8 <= bitdepth <= 16:
        raise DataError(f"{name}: bitdepth must be 8..16, got {bitdepth}")
    want = np.uint8 if bitdepth == 8 else np.uint16
    if img.dtype != want:
        raise DataError(
            f"{name}: a {bitdepth}-bit image must be {np.dtype(want).name}, got "
            f"{img.dtype} (round and cast like a decoder, or pass the right bitdepth)"
        )
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] < 1 or img.size == 0:
        raise DataError(f"{name}: expected H x W x C, got shape {img.shape}")
    if bitdepth not in (8, 16) and int(img.max()) > peak(bitdepth):
        raise DataError(
            f"{name}: value {int(img.max())} exceeds {bitdepth}-bit peak {int(peak(bitdepth))}; wrong bitdepth?"
        )
    return img


def check_pair(ref: np.ndarray, dist: np.ndarray, bitdepth: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate a reference/distorted pair once: same shape and dtype, legal values."""
    ref, dist = as_hwc(ref, "reference", bitdepth), as_hwc(dist, "distorted", bitdepth)
    if ref.shape != dist.shape:
        raise DataError(
            f"reference and distorted differ in shape: {ref.shape} vs {dist.shape} "
            "(metrics compare pixel by pixel; crop or resize one of them)"
        )
    return ref, dist


def rgb_to_luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 full-range luma (float64, not rounded) of an H x W x 3 image; gray passes through."""
    x = rgb.astype(np.float64)
    return x[..., 0] if x.shape[2] == 1 else x[..., :3] @ BT601_LUMA


def rgb_to_ycbcr(rgb: np.ndarray, bitdepth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BT.601 full-range Y, Cb, Cr planes (JFIF matrix, chroma offset 2^(d-1)), float64, unrounded."""
    if rgb.shape[2] != 3:
        raise DataError(f"YCbCr needs 3 channels (RGB), got {rgb.shape[2]}")
    x = rgb.astype(np.float64)
    y = x @ BT601_LUMA
    mid = float(2 ** (bitdepth - 1))
    cb = (x[..., 2] - y) / (2.0 * (1.0 - BT601_KB)) + mid
    cr = (x[..., 0] - y) / (2.0 * (1.0 - BT601_KR)) + mid
    return y, cb, cr


def rgb2gray_matlab(rgb: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` for integer images: NTSC weights, rounded back to the integer type."""
    if rgb.shape[2] == 1:
        return rgb[..., 0]
    # MATLAB's coefficients are the first row of inv of its NTSC (YIQ) matrix, not BT.601's luma weights.
    weights = np.linalg.inv(np.array([[1.0, 0.956, 0.621], [1.0, -0.272, -0.647], [1.0, -1.106, 1.703]]))[0]
    gray = np.rint(rgb[..., :3].astype(np.float64) @ weights)
    return np.clip(gray, 0, np.iinfo(rgb.dtype).max).astype(rgb.dtype)
