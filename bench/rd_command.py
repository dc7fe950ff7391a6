"""`bench bdrate ANCHOR TEST`: BD-rate/BD-PSNR of two results files, for people or for scripts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer


def _summary(r: dict[str, Any], metric: str) -> str:
    """A few lines; a missing value shows its reason instead of a number."""
    if r["bd_rate_pct"] is None:
        rate = f"BD-rate: n/a ({r['reason']})"
    else:
        rate = f"BD-rate: {r['bd_rate_pct']:+.2f}% (pchip), {r['bd_rate_pct_akima']:+.2f}% (akima)"
    psnr = f"BD-PSNR: n/a ({r['bd_psnr_reason']})" if r["bd_psnr_db"] is None else f"BD-PSNR: {r['bd_psnr_db']:+.3f} dB"
    lines = [rate, psnr]
    if r["overlap"]:
        lo, hi = r["overlap"]
        share = 100 * r["overlap_fraction"]
        lines.append(f"{metric} overlap: {lo:.4g} .. {hi:.4g} ({share:.0f}% of the union)")
    lines.append(f"points used: anchor {r['n_anchor']}, test {r['n_test']}")
    return "\n".join(lines)


def bdrate_command(
    anchor: Path,
    test: Path,
    metric: Annotated[
        str, typer.Option(help="Result key, e.g. psnr-rgb, ms-ssim-rgb-db (bench list shows the metrics).")
    ] = "psnr-rgb",
    hull: Annotated[bool, typer.Option(help="Reduce each curve to its Pareto frontier first.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object instead.")] = False,
) -> None:
    """BD-rate of TEST against ANCHOR (CompressAI-schema results JSON); negative = TEST saves bits."""
    # scipy loads when this command runs, not for every `bench`
    from bench.metrics import METRICS
    from bench.rd.curves import bdrate_files

    # A registry metric declares its direction and dB-ness; another result key is read from its name.
    axis: dict[str, bool] = {}
    if metric in METRICS:
        m = METRICS.get(metric)
        axis = {"higher_is_better": m.higher_is_better, "is_db": m.is_db}
    result = bdrate_files(anchor, test, metric=metric, hull=hull, **axis)
    typer.echo(json.dumps(result) if json_out else _summary(result, metric))
