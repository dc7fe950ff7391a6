"""The BD table as parent-run metrics: every figure with its CI and overlap, every absent one with its reason."""

from __future__ import annotations

from bench.bd_tracking import bd_metrics_and_tags
from bench.records import BDEntry


def _entry(**over: object) -> BDEntry:
    e: dict[str, object] = {
        "method": "sw+jpeg",
        "role": "sandwich",
        "anchor": "j420",
        "metric": "psnr-rgb",
        "bd_rate_pct": -4.0,
        "bd_psnr_db": 0.25,
        "ci95": {"bd_rate_pct": [-5.0, -3.0], "bd_psnr_db": [0.2, 0.3], "n_boot": 100, "reason": None},
        "overlap": [28.0, 38.0],
        "overlap_fraction": 0.9,
        "reason": None,
        "bd_psnr_reason": None,
    }
    e.update(over)
    return e  # type: ignore[return-value]  # a BDEntry as summary.json holds it


def test_a_computed_entry_gives_every_figure_its_ci_and_overlap() -> None:
    metrics, tags = bd_metrics_and_tags([_entry()])
    where = "sw_jpeg.psnr-rgb"
    assert metrics == {
        f"bd_rate_pct.{where}": -4.0,
        f"bd_rate_pct_ci_lo.{where}": -5.0,
        f"bd_rate_pct_ci_hi.{where}": -3.0,
        f"bd_psnr_db.{where}": 0.25,
        f"bd_psnr_db_ci_lo.{where}": 0.2,
        f"bd_psnr_db_ci_hi.{where}": 0.3,
        f"overlap_lo.{where}": 28.0,
        f"overlap_hi.{where}": 38.0,
        f"overlap_fraction.{where}": 0.9,
    }
    assert tags == {}


def test_absent_figures_are_tags_with_their_reason() -> None:
    no_overlap = "no overlap in quality: anchor [26.8, 38.3], test [17.6, 17.9]"
    entry = _entry(
        metric="psnr-y",
        bd_rate_pct=None,
        reason=no_overlap,
        overlap=None,
        overlap_fraction=None,
        ci95={"bd_rate_pct": None, "bd_psnr_db": None, "reason": "bootstrap disabled (evaluation.bootstrap: 0)"},
    )
    metrics, tags = bd_metrics_and_tags([entry])
    assert metrics == {"bd_psnr_db.sw_jpeg.psnr-y": 0.25}
    assert tags == {
        "missing.bd_rate_pct.sw_jpeg.psnr-y": no_overlap,
        "missing.bd_psnr_db_ci.sw_jpeg.psnr-y": "bootstrap disabled (evaluation.bootstrap: 0)",
        "missing.overlap.sw_jpeg.psnr-y": no_overlap,
    }


def test_a_metric_without_db_has_no_bd_psnr_and_no_tag_for_it() -> None:
    entry = _entry(metric="ms-ssim-rgb", bd_psnr_db=None, bd_psnr_reason="not a dB metric")
    entry["ci95"]["bd_psnr_db"] = None
    metrics, tags = bd_metrics_and_tags([entry])
    assert not [k for k in metrics if k.startswith("bd_psnr_db")] and tags == {}
    assert metrics["bd_rate_pct.sw_jpeg.ms-ssim-rgb"] == -4.0


def test_a_bootstrap_that_failed_leaves_its_reason() -> None:
    why = "only 3/100 resamples gave a finite BD-rate (need 20)"
    entry = _entry(ci95={"bd_rate_pct": [None, None], "bd_psnr_db": [0.2, 0.3], "reason": why})
    metrics, tags = bd_metrics_and_tags([entry])
    assert "bd_rate_pct_ci_lo.sw_jpeg.psnr-rgb" not in metrics and "bd_psnr_db_ci_lo.sw_jpeg.psnr-rgb" in metrics
    assert tags == {"missing.bd_rate_pct_ci.sw_jpeg.psnr-rgb": why}
