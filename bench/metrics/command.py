"""``bench metrics REF DIST [--json]``: every metric for one pair of images or .y4m clips."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bench.image_header import DEFAULT_MAX_PIXELS


def _json_value(v: object) -> object:
    """inf/NaN are not JSON: null, as in the result files (e.g. PSNR of identical images)."""
    return None if isinstance(v, float) and not math.isfinite(v) else v


def metrics_command(
    ref: Annotated[Path, typer.Argument(help="reference image or .y4m clip")],
    dist: Annotated[Path, typer.Argument(help="distorted image or .y4m clip")],
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object, not a table")] = False,
    max_pixels: Annotated[
        int,
        typer.Option(
            "--max-pixels", min=1, help="largest image or frame accepted, in pixels (read from the file headers)"
        ),
    ] = DEFAULT_MAX_PIXELS,
) -> None:
    """Every metric (PSNR, MS-SSIM, LPIPS, VMAF ...; keys as in result files) of DIST against REF."""
    # Imported here so that torch loads only when this command runs, not for every `bench` call.
    from bench.metrics import METRICS
    from bench.metrics.iqa_extra import LOWER_IS_BETTER
    from bench.metrics.pair import metrics_for_pair

    result = metrics_for_pair(ref, dist, max_pixels)
    meta = result.pop("meta")
    if json_out:
        typer.echo(json.dumps({**{k: _json_value(v) for k, v in result.items()}, "meta": meta}, allow_nan=False))
        return
    frames = f", {meta['frames']} frames" if meta["kind"] == "video" else ""
    console = Console()
    console.print(f"{dist} vs {ref}: {meta['width']}x{meta['height']}, {meta['bitdepth']}-bit{frames}", highlight=False)
    table = Table("metric", "value", "better")
    for key, value in result.items():
        lower = not METRICS.get(key).higher_is_better if key in METRICS else key in LOWER_IS_BETTER
        table.add_row(key, f"{value:.4f}", "lower" if lower else "higher")
    console.print(table)
    for note in meta["notes"]:
        console.print(f"note: {note}", highlight=False)
