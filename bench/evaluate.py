"""One cell: every eval item through one method at one rate point, one row per item, nothing averaged.

The rate is the real bitstream's: ``bpp`` = 8 · bytes / (frames · H · W), and for a clip also
``kbps`` = 8 · bytes · fps / frames / 1000 at its real frame rate. Quality comes from
``bench.metrics`` (for a clip: per-frame values kept, the sequence value beside them). The first
``evaluation.visual_items`` reconstructions are kept as lossless PNGs for reports.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.errors import BenchError
from bench.highbit import to_depth
from bench.io_utils import save_png
from bench.method import ItemResult, Method
from bench.metrics import sequence_metrics
from bench.plan import Plan
from bench.progress import Task
from bench.provenance import git_sha
from bench.records import Cell, Row
from bench.source import Source


def evaluate_cell(plan: Plan, method: Method, rate_point: float, recon_dir: Path, progress: Task | None = None) -> Cell:
    """Rows (one per item) for one (method, rate point); ``progress`` advances once per item."""
    rows, commands = [], []
    keep = {it.name for it in plan.eval_set.items[: plan.cfg.evaluation.visual_items]}
    for it in plan.eval_set.items:
        src = plan.sources[it.name]
        res = method.run(src, rate_point)
        if res.decoded.shape != src.frames.shape:
            raise BenchError(
                f"method {method.name!r} returned frames shaped {res.decoded.shape} for "
                f"{it.name} shaped {src.frames.shape}"
            )
        t, h, w = src.frames.shape[:3]
        row = Row(
            it.name,
            it.sha256,
            res.nbytes,
            8.0 * res.nbytes / (t * h * w),
            res.encode_s,
            res.decode_s,
            {},
            extra={k: v for k, v in res.extra.items() if isinstance(v, int | float | str)},
        )
        if src.fps is not None:
            row.kbps, row.frames, row.fps = 8.0 * res.nbytes * float(src.fps) / t / 1000.0, t, float(src.fps)
        _measure(row, src, res.decoded, plan.metrics)
        if it.name in keep:
            row.recon, row.bottleneck = _keep_visuals(recon_dir, it.name, res)
        rows.append(row)
        commands.append(res.command)
        if progress is not None:
            progress.advance()
    return Cell(
        method.name,
        method.role,
        rate_point,
        rows,
        commands[0] if commands else "",
        git_sha(),
        "sequence" if plan.video else None,
    )


def _measure(row: Row, src: Source, decoded: np.ndarray, metrics: list[str]) -> None:
    ref, dist, depth = src.frames, decoded, src.bitdepth
    if src.measured_depth is not None:  # a 10/12-bit source held on the 16-bit scale: its own depth and peak
        depth = row.bitdepth = src.measured_depth
        ref, dist = (np.stack([to_depth(f, depth) for f in frames]) for frames in (ref, dist))  # by rows per frame
    scores = sequence_metrics(ref, dist, metrics, bitdepth=depth)
    row.values = dict(scores.pooled)
    if src.fps is not None:  # a clip keeps its per-frame values beside the sequence value
        row.per_frame = scores.per_frame


def _keep_visuals(recon_dir: Path, name: str, res: ItemResult) -> tuple[str, str | None]:
    """(reconstruction, bottleneck) PNGs of the first frame, relative to the run folder."""
    root = recon_dir.parents[2]
    recon = save_png(recon_dir / f"{name}.png", res.decoded[0]).relative_to(root).as_posix()
    if res.bottleneck is None:
        return recon, None
    return recon, save_png(recon_dir / f"{name}.bottleneck.png", res.bottleneck).relative_to(root).as_posix()
