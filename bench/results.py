"""Per-cell records on disk, and their aggregation into CompressAI-schema results.

A *cell* is one (method, rate point) over all eval items. Each finished cell is one JSON file
under ``cells/``, holding what it was computed from (``inputs``, ``meta``): a resumed run reuses
it only when those match (``bench.reuse``). Results, points.csv and summary.json are derived from
the cells at the end and written atomically.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from bench.io_utils import write_json_atomic, write_text_atomic
from bench.records import Cell, Value

ROW_FIXED = ("method", "role", "rate_point", "item", "bpp", "nbytes", "encode_s", "decode_s")


def rate_key(rate_point: float) -> str:
    """A file-name-safe, stable key for a rate point (``30`` -> ``30``, ``2.5`` -> ``2.5``)."""
    text = f"{rate_point:g}"
    return re.sub(r"[^0-9A-Za-z.+-]", "_", text)


def cell_path(run_dir: Path, method: str, rate_point: float) -> Path:
    return run_dir / "cells" / method / f"{rate_key(rate_point)}.json"


def save_cell(path: Path, cell: Cell) -> None:
    write_json_atomic(path, cell.to_json())


def load_cell(path: Path) -> Cell | None:
    """A cell file that does not parse, or was not finished, is treated as unfinished (it will be redone)."""
    try:
        doc = json.loads(path.read_text())
        return Cell.from_json(doc) if isinstance(doc, dict) and doc.get("complete") is True else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _number(v: Value | None) -> float:
    return np.nan if v is None else float(v)


def cell_means(cell: Cell, metrics: list[str], rates: tuple[str, ...] = ("bpp",)) -> dict[str, float]:
    """Mean over items of the rate(s) (bpp; video also kbps) and each metric for one cell (NaN where a
    value is missing)."""
    return {key: float(np.mean([_number(r.get(key)) for r in cell.rows])) for key in (*rates, *metrics)}


def aggregate(cells: list[Cell], metrics: list[str], rates: tuple[str, ...] = ("bpp",)) -> dict[str, list[float]]:
    """CompressAI style: mean over items of per-item values, one entry per cell, in the given order."""
    out: dict[str, list[float]] = {"rate_point": [float(c.rate_point) for c in cells]}
    means = [cell_means(c, metrics, rates) for c in cells]
    for key in [*rates, *metrics]:
        out[key] = [m[key] for m in means]
    return out


def results_document(
    name: str, description: str, curve: dict[str, list[float]], meta: dict[str, Any]
) -> dict[str, Any]:
    """CompressAI's schema: name, description, results (parallel lists), plus our meta."""
    results = {k: v for k, v in curve.items() if k != "rate_point"}
    return {
        "name": name,
        "description": description,
        "results": results,
        "meta": {**meta, "rate_points": curve["rate_point"]},
    }


def points_csv(cells: list[Cell], metrics: list[str]) -> str:
    """Long table: one row per method x rate point x item."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=[*ROW_FIXED, *metrics], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for c in sorted(cells, key=lambda c: (c.method, c.rate_point)):
        for r in c.rows:
            writer.writerow({"method": c.method, "role": c.role, "rate_point": c.rate_point, **r.to_json()})
    return buf.getvalue()


def per_item_matrix(cells: list[Cell], key: str, items: list[str]) -> np.ndarray:
    """``[n_items, n_cells]`` of one column, items and cells in the given order (for bootstraps)."""
    out = np.full((len(items), len(cells)), np.nan)
    index = {name: i for i, name in enumerate(items)}
    for j, c in enumerate(cells):
        for r in c.rows:
            v = r.get(key)
            if r.item in index and v is not None:
                out[index[r.item], j] = float(v)
    return out


def write_results(path: Path, doc: dict[str, Any]) -> None:
    write_json_atomic(path, doc)


def write_points(path: Path, text: str) -> None:
    write_text_atomic(path, text)
