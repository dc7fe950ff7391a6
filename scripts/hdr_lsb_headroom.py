"""How far above the 8-MSB saturation a dequantiser can get on each HDR image (no codec).

The hdr scenario's ideal line (58.96 dB) is perfect 8 MSBs with mid-point LSBs. A post-processor
can only beat it where the lost LSBs are predictable from the neighbourhood (smooth gradients);
where they are noise or fine texture, no 8-bit channel carries them. This prints, per image, the
16-bit PSNR of the mid-point reconstruction and the gain of a simple adaptive dequantiser
(Gaussian blur of the mid-point image, kept only where it stays inside the quantisation cell)
at three widths — a lower bound on what a learned g could find, and a quick check of the data.

    .venv/bin/python scripts/hdr_lsb_headroom.py [FOLDER] [GLOB ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from bench.data import load_image
from bench.paths import data_root
from bench.scenarios import hdr_to_16bit

SIGMAS = (0.7, 1.5, 3.0)


def headroom(source16: np.ndarray) -> tuple[float, list[float]]:
    """(mid-point PSNR in dB, adaptive-blur gains in dB per sigma) for one 16-bit RGB image."""
    s = source16.astype(np.float64)
    x = np.floor(s / 256) * 256 + 128
    base = float(((x - s) ** 2).mean())
    gains = []
    for sigma in SIGMAS:
        blurred = gaussian_filter(x, (sigma, sigma, 0))
        kept = np.where(np.abs(blurred - x) <= 128, blurred, x)
        gains.append(10 * np.log10(base / float(((kept - s) ** 2).mean())))
    return 10 * np.log10(65535.0**2 / base), gains


def main(argv: list[str]) -> None:
    folder = Path(argv[0]) if argv else data_root() / "hdr"
    globs = argv[1:] or ["*.hdr", "*.exr"]
    print(f"{'image':32s} {'mid-point':>9s}  gain at sigma " + " ".join(f"{s:>5g}" for s in SIGMAS))
    for path in sorted(p for g in globs for p in folder.glob(g)):
        img = load_image(path)
        src = hdr_to_16bit(img[..., :3]) if img.dtype == np.float32 else img[..., :3]
        psnr, gains = headroom(src)
        print(f"{path.name:32s} {psnr:7.2f} dB  " + " ".join(f"{g:+5.2f}" for g in gains))


if __name__ == "__main__":
    main(sys.argv[1:])
