"""Our JPEG 4:2:0 quality sweep on all 24 Kodak images against CompressAI's published JPEG curve.

CompressAI ran Pillow 7.1.2 with default settings (standard tables, 4:2:0, no Huffman
optimisation) and reported the mean over images of per-image bpp and RGB-PSNR. Doing the same
with our codec wrapper and PSNR must land within +-3% BD-rate of their curve.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.codecs import CODECS
from bench.metrics.psnr import psnr_rgb
from bench.rd import bd, load_results

QUALITIES = [10, 20, 30, 40, 50, 60, 70, 80, 90]


@pytest.mark.slow  # encodes all 24 Kodak images at every quality
def test_jpeg420_kodak_matches_compressai(data_dir: Path) -> None:
    codec = CODECS.build("jpeg", mode="rgb", chroma="420", tables="standard", optimize=False)
    images = [np.asarray(Image.open(p).convert("RGB")) for p in sorted((data_dir / "kodak").glob("kodim*.png"))]
    assert len(images) == 24
    bpp, psnr = [], []
    for q in QUALITIES:
        coded = [codec.encode_image(img, q) for img in images]
        rows = [(c.bpp(), psnr_rgb(img, c.decoded)) for img, c in zip(images, coded, strict=True)]
        bpp.append(float(np.mean([r[0] for r in rows])))
        psnr.append(float(np.mean([r[1] for r in rows])))
    ref = load_results(data_dir / "reference" / "compressai_kodak" / "jpeg.json")
    res = bd(ref.results["bpp"], ref.results["psnr-rgb"], bpp, psnr)
    assert res.reason is None, res.reason
    assert abs(res.bd_rate_pct) <= 3.0, f"BD-rate vs CompressAI's JPEG: {res.bd_rate_pct:.2f}%"
    assert abs(res.bd_psnr_db) <= 0.2
