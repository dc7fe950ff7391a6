"""One cell: every eval item through one method at one rate point, one row per item, nothing averaged.

The rate is the real bitstream's: ``bpp`` = 8 · bytes / (frames · H · W), and for a clip also
``kbps`` = 8 · bytes · fps / frames / 1000 at its real frame rate. Quality comes from
``bench.metrics`` (for a clip: per-frame values kept, the sequence value beside them). The first
``evaluation.visual_items`` reconstructions are kept as lossless PNGs for reports.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from bench.errors import BenchError
from bench.highbit import to_depth
from bench.io_utils import save_png
from bench.method import ItemResult, Method
from bench.metrics import compute_metrics
from bench.metrics.video import sequence_metrics
from bench.plan import Plan
from bench.provenance import git_sha
from bench.source import Source


def evaluate_cell(plan: Plan, method: Method, rate_point: float, recon_dir: Path) -> dict[str, Any]:
    """Rows (one per item) for one (method, rate point)."""
    rows, commands = [], []
    keep = {it.name for it in plan.eval_set.items[: plan.cfg.evaluation.visual_items]}
    for it in tqdm(plan.eval_set.items, desc=f"{method.name} @ {rate_point:g}", leave=False, file=sys.stderr,
                   disable=not sys.stderr.isatty()):
        src = plan.sources[it.name]
        res = method.run(src, rate_point)
        if res.decoded.shape != src.frames.shape:
            raise BenchError(f"method {method.name!r} returned frames shaped {res.decoded.shape} for "
                             f"{it.name} shaped {src.frames.shape}")
        row = {"item": it.name, "sha256": it.sha256, **_rates(src, res.nbytes),
               "encode_s": res.encode_s, "decode_s": res.decode_s, **_quality(src, res.decoded, plan.metrics)}
        if it.name in keep:
            row.update(_keep_visuals(recon_dir, it.name, res))
        row.update({k: v for k, v in res.extra.items() if isinstance(v, int | float | str) and k not in row})
        rows.append(row)
        commands.append(res.command)
    cell = {"method": method.name, "role": method.role, "rate_point": rate_point, "rows": rows,
            "command": commands[0] if commands else "", "git_sha": git_sha(), "complete": True}
    return {**cell, "unit": "sequence"} if plan.video else cell


def _rates(src: Source, nbytes: int) -> dict[str, Any]:
    t, h, w = src.frames.shape[:3]
    if src.fps is None:
        return {"nbytes": nbytes, "bpp": 8.0 * nbytes / (t * h * w)}
    return {"nbytes": nbytes, "kbps": 8.0 * nbytes * float(src.fps) / t / 1000.0, "bpp": 8.0 * nbytes / (t * h * w),
            "frames": t, "fps": float(src.fps)}


def _quality(src: Source, decoded: np.ndarray, metrics: list[str]) -> dict[str, Any]:
    if src.fps is not None:
        scores = sequence_metrics(src.frames, decoded, metrics, bitdepth=src.bitdepth)
        return {**scores.sequence, "per_frame": scores.per_frame}
    ref, dist, depth = src.image, decoded[0], src.bitdepth
    if src.measured_depth is None:
        return compute_metrics(ref, dist, metrics, bitdepth=depth)
    # a 10/12-bit source held on the 16-bit scale: measured at its own depth and peak
    depth = src.measured_depth
    return {**compute_metrics(to_depth(ref, depth), to_depth(dist, depth), metrics, bitdepth=depth), "bitdepth": depth}


def _keep_visuals(recon_dir: Path, name: str, res: ItemResult) -> dict[str, str]:
    root = recon_dir.parents[2]
    kept = {"recon": save_png(recon_dir / f"{name}.png", res.decoded[0]).relative_to(root).as_posix()}
    if res.bottleneck is not None:
        kept["bottleneck"] = save_png(recon_dir / f"{name}.bottleneck.png", res.bottleneck).relative_to(root).as_posix()
    return kept
