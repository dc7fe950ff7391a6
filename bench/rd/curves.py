"""RD curves from CompressAI-schema result JSON, validated so a bad file fails with its name.

Schema: ``{"name": str, "description": str?, "results": {"bpp": [...], metric: [...], ...},
"meta": {...}?}``, every list one value per rate point (``null`` reads as NaN, which BD then
reports as unusable rather than dropping).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import BenchError
from bench.rd.bd import bd

# (pattern, higher_is_better, is_db), first match wins; LPIPS-PSNR before plain LPIPS.
_AXES: list[tuple[str, bool, bool]] = [
    (r"lpips.*psnr|psnr.*lpips", True, True),
    (r"^psnr", True, True),
    (r"ssim.*-db$", True, True),
    (r"ssim", True, False),
    (r"lpips", False, False),
    (r"vmaf", True, False),
]


def metric_axis(metric: str) -> tuple[bool, bool] | None:
    """``(higher_is_better, is_db)`` for a result key, or None when the name does not say."""
    for pattern, higher, is_db in _AXES:
        if re.search(pattern, metric):
            return higher, is_db
    return None


@dataclass(frozen=True)
class Results:
    """One method's results file: parallel arrays per metric, ``source`` for error messages."""

    source: str
    name: str
    description: str
    results: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    def metrics(self) -> list[str]:
        """The quality (and timing) keys, i.e. everything but ``bpp``."""
        return sorted(k for k in self.results if k != "bpp")


def _numbers(source: str, key: str, values: Any) -> np.ndarray:
    if not isinstance(values, list) or not all(
        v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values
    ):
        raise BenchError(f"{source}: results[{key!r}] must be a list of numbers (null for missing)")
    return np.array([math.nan if v is None else float(v) for v in values], dtype=float)


def parse_results(obj: Any, source: str = "<results>") -> Results:
    """Validate an already-parsed results object (the harness's in-memory dict, or a file's)."""
    if not isinstance(obj, Mapping):
        raise BenchError(f"{source}: expected a JSON object with 'name' and 'results', got {type(obj).__name__}")
    missing = [k for k in ("name", "results") if k not in obj]
    if missing:
        raise BenchError(f"{source}: missing key(s) {', '.join(missing)} (CompressAI results schema)")
    res = obj["results"]
    if not isinstance(res, Mapping) or "bpp" not in res:
        raise BenchError(f"{source}: 'results' must be an object with a 'bpp' list")
    arrays = {str(k): _numbers(source, str(k), v) for k, v in res.items()}
    n = len(arrays["bpp"])
    wrong = {k: len(v) for k, v in arrays.items() if len(v) != n}
    if wrong:
        detail = ", ".join(f"{k} has {m}" for k, m in wrong.items())
        raise BenchError(f"{source}: results lists must be parallel to bpp ({n} points) but {detail}")
    meta = obj.get("meta") or {}
    if not isinstance(meta, Mapping):
        raise BenchError(f"{source}: 'meta' must be an object")
    return Results(source, str(obj["name"]), str(obj.get("description", "")), arrays, dict(meta))


def load_results(path: Path) -> Results:
    """Read and validate one results JSON file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BenchError(f"{path}: cannot read results file ({exc.strerror or exc})") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise BenchError(f"{path}: not valid JSON ({exc.msg} at {where})") from None
    return parse_results(obj, str(path))


def curve(data: Results | Mapping[str, Any], metric: str) -> tuple[np.ndarray, np.ndarray]:
    """``(bpp, quality)`` arrays for ``metric``, in file order.

    ``ms-ssim-*-db`` is derived as -10·log10(1 - MS-SSIM) when the file only has ``ms-ssim-*``
    (the usual way to plot and BD MS-SSIM; the BD-rate depends on the quality axis chosen).
    """
    res = data if isinstance(data, Results) else parse_results(data)
    choices = ", ".join(res.metrics())
    if metric == "bpp":
        raise BenchError(f"{res.source}: 'bpp' is the rate axis; choose a quality metric: {choices}")
    if metric in res.results:
        return res.results["bpp"].copy(), res.results[metric].copy()
    linear = metric.removesuffix("-db")
    if "ssim" in metric and linear != metric and linear in res.results:
        with np.errstate(divide="ignore", invalid="ignore"):
            return res.results["bpp"].copy(), -10.0 * np.log10(1.0 - res.results[linear])
    raise BenchError(f"{res.source}: no metric {metric!r}; available: {choices}")


def bdrate_files(
    anchor: Path,
    test: Path,
    metric: str = "psnr-rgb",
    hull: bool = False,
    *,
    higher_is_better: bool | None = None,
    is_db: bool | None = None,
    min_overlap: float = 0.0,
) -> dict[str, Any]:
    """BD of two results files on ``metric``: :meth:`BDResult.to_dict` (NaN as None).

    The metric's orientation and dB-ness come from its name (:func:`metric_axis`) unless given.
    """
    axis = metric_axis(metric) or (None, None)
    higher = axis[0] if higher_is_better is None else higher_is_better
    db = axis[1] if is_db is None else is_db
    if higher is None or db is None:
        raise BenchError(
            f"metric {metric!r}: cannot tell whether higher is better or whether it is in dB; "
            "pass higher_is_better and is_db"
        )
    ra, qa = curve(load_results(anchor), metric)
    rt, qt = curve(load_results(test), metric)
    return bd(ra, qa, rt, qt, higher_is_better=higher, is_db=db, hull=hull, min_overlap=min_overlap).to_dict()
