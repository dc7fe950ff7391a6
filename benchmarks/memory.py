"""Memory target, kept out of the unit tests: evaluating an 8000x8000 image stays under 4 GB.

    python benchmarks/memory.py [SIDE]

A child process makes a SIDE x SIDE (default 8000) RGB photograph (a Kodak image upscaled bicubic,
so it has photographic structure), codes it with the real JPEG codec (4:2:0, quality 50) and scores
the decoded image with ``bench.metrics.compute_metrics`` for psnr-rgb, ms-ssim-rgb and lpips-alex, as
an evaluation cell does. The figure is the child's peak resident memory (``ru_maxrss``), the source
and decoded images (2 x 192 MB at 8000) included. Prints it against the target; exits 1 when missed.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

TARGET_GB = 4.0
METRICS = ("psnr-rgb", "ms-ssim-rgb", "lpips-alex")


def child(side: int) -> None:
    """Runs in the measured process; prints one JSON line: per-metric value and seconds."""
    import numpy as np
    from PIL import Image

    from bench.codecs import CODECS
    from bench.metrics import compute_metrics
    from bench.paths import data_root

    with Image.open(data_root() / "kodak" / "kodim23.png") as im:
        source = np.asarray(im.convert("RGB").resize((side, side), Image.Resampling.BICUBIC))
    t0 = time.perf_counter()
    decoded = CODECS.build("jpeg", mode="rgb", chroma="420").encode_image(source, 50).decoded
    out: dict[str, object] = {"jpeg_s": time.perf_counter() - t0}
    for key in METRICS:
        t0 = time.perf_counter()
        out[key] = compute_metrics(source, decoded, [key])[key]
        out[f"{key}_s"] = time.perf_counter() - t0
    print(json.dumps(out))


def main(argv: list[str]) -> int:
    side = int(argv[0]) if argv else 8000
    repo = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, __file__, "--child", str(side)], cwd=repo, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        return 1
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # Linux: KiB
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in METRICS:
        print(f"{key:12s} {result[key]:.6f}  ({result[f'{key}_s']:.1f} s)")
    ok = peak_gb < TARGET_GB
    print(
        f"{f'peak RSS, {side}x{side} JPEG + metrics [GB]':44s} {peak_gb:6.2f}  target < {TARGET_GB:g}  "
        f"{'ok' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(int(sys.argv[2]))
    else:
        sys.exit(main(sys.argv[1:]))
