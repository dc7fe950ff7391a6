"""One video cell: every eval clip through a video method at one rate point, per-sequence records.

The rate is the real stream's: ``kbps = 8 · bytes · fps / frames / 1000`` at the clip's real frame
rate (``bench.codecs.kbps``), and ``bpp`` = 8 · bytes / (frames · H · W) beside it. Quality is
``bench.metrics.video.sequence_metrics`` on the RGB frames (per-frame values kept, the sequence value
is their mean; VMAF pooled by libvmaf over the whole clip).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench.codecs import kbps
from bench.errors import BenchError
from bench.io_utils import save_png
from bench.metrics.video import sequence_metrics
from bench.plan import Plan
from bench.provenance import git_sha
from bench.method import VideoMethod


def evaluate_video_cell(plan: Plan, method: VideoMethod, rate_point: float, recon_dir: Path) -> dict[str, Any]:
    """Rows (one per clip) for one (method, rate point); nothing averaged."""
    rows, commands = [], []
    keep = {it.name for it in plan.eval_set.items[: plan.cfg.evaluation.visual_items]}
    for it in tqdm(plan.eval_set.items, desc=f"{method.name} @ {rate_point:g}", leave=False, file=sys.stderr,
                   disable=not sys.stderr.isatty()):
        src = plan.sources[it.name]
        res = method.run_clip(src, it.fps, rate_point)
        if res.decoded.shape != src.shape:
            raise BenchError(f"method {method.name!r} returned frames shaped {res.decoded.shape} for "
                             f"{it.name} shaped {src.shape}")
        n, h, w = src.shape[:3]
        scores = sequence_metrics(src, res.decoded, plan.metrics, bitdepth=8)
        row = {"item": it.name, "sha256": it.sha256, "nbytes": res.nbytes, "kbps": kbps(res.nbytes, n, it.fps),
               "bpp": 8.0 * res.nbytes / (n * h * w), "frames": n, "fps": float(it.fps),
               "encode_s": res.encode_s, "decode_s": res.decode_s, **scores.sequence,
               "per_frame": scores.per_frame}
        if it.name in keep:
            root = recon_dir.parents[2]
            row["recon"] = save_png(recon_dir / f"{it.name}.png", res.decoded[0]).relative_to(root).as_posix()
            if res.bottleneck is not None:
                row["bottleneck"] = save_png(recon_dir / f"{it.name}.bottleneck.png",
                                             res.bottleneck).relative_to(root).as_posix()
        row.update({k: v for k, v in res.extra.items() if isinstance(v, int | float | str) and k not in row})
        rows.append(row)
        commands.append(res.command)
    return {"method": method.name, "role": method.role, "rate_point": rate_point, "rows": rows,
            "command": commands[0] if commands else "", "git_sha": git_sha(), "complete": True,
            "unit": "sequence"}
