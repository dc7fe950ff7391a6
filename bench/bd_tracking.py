"""The BD table as MLflow parent-run metrics, so the runs view can sort and chart methods by them.

Keys are ``<figure>.<method>.<metric>`` (the summary's own names): ``bd_rate_pct``, ``bd_psnr_db`` (dB
metrics only: PSNR, MS-SSIM-dB, LPIPS-PSNR), each with ``_ci_lo``/``_ci_hi`` (paired bootstrap 95% CI),
and ``overlap_lo``/``overlap_hi``/``overlap_fraction`` (the quality range both curves cover). A figure
that could not be computed is a tag ``missing.<figure>.<method>.<metric>`` holding the reason, so a
blank cell in the runs table can be explained without opening ``summary.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bench.records import BDEntry
from bench.tracking import mlflow_key

MISSING = "missing"
_NOT_DB = "not a dB metric"  # by design, not a failure: no tag


def _pair(value: Any) -> tuple[float, float] | None:
    if isinstance(value, list | tuple) and len(value) == 2 and None not in value:
        return float(value[0]), float(value[1])
    return None


def bd_metrics_and_tags(entries: Iterable[BDEntry]) -> tuple[dict[str, float], dict[str, str]]:
    """(metrics, reason tags) for the parent run from ``summary["bd"]``."""
    metrics: dict[str, float] = {}
    tags: dict[str, str] = {}
    for entry in entries:
        e: Mapping[str, Any] = entry
        ci: Mapping[str, Any] = e.get("ci95") or {}
        where = (e["method"], e["metric"])
        for figure, why in (
            ("bd_rate_pct", e.get("reason")),
            ("bd_psnr_db", e.get("bd_psnr_reason") or e.get("reason")),
        ):
            value = e.get(figure)
            if value is None:
                if why != _NOT_DB:
                    tags[mlflow_key(MISSING, figure, *where)] = why or "not computed"
                continue
            metrics[mlflow_key(figure, *where)] = float(value)
            bounds = _pair(ci.get(figure))
            if bounds is None:
                tags[mlflow_key(MISSING, f"{figure}_ci", *where)] = ci.get("reason") or "no bootstrap CI"
            else:
                metrics[mlflow_key(f"{figure}_ci_lo", *where)] = bounds[0]
                metrics[mlflow_key(f"{figure}_ci_hi", *where)] = bounds[1]
        overlap = _pair(e.get("overlap"))
        if overlap is None:
            tags[mlflow_key(MISSING, "overlap", *where)] = e.get("reason") or "no common quality range"
        else:
            metrics[mlflow_key("overlap_lo", *where)] = overlap[0]
            metrics[mlflow_key("overlap_hi", *where)] = overlap[1]
            if e.get("overlap_fraction") is not None:
                metrics[mlflow_key("overlap_fraction", *where)] = float(e["overlap_fraction"])
    return metrics, tags
