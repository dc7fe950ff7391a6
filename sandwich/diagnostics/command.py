"""``bench fidelity``: the image proxy against the real codec (see :mod:`sandwich.diagnostics.fidelity`)."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table


def parse_steps(text: str) -> list[float]:
    """``"2,4,8"`` -> ``[2.0, 4.0, 8.0]``; a bad list is a usage error naming the culprit."""
    try:
        return [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter(f"expected comma-separated numbers such as 2,4,8, got {text!r}") from None


def json_safe(obj: Any) -> Any:
    """Non-finite floats (an exact PSNR is inf) become null, so the output is strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [json_safe(v) for v in obj]
    return obj


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _print_table(result: dict) -> None:
    table = Table(title=f"proxy vs {result['codec']} on {result['n_items']} images ({result['bottleneck']})")
    for col in ("step", "param", "real bpp", "pred err % (other imgs)", "pred err % (other steps)",
                "gaussian err %", "laplacian err %", "PSNR gap dB"):
        table.add_column(col, justify="right")
    for row in result["per_step"]:
        table.add_row(f"{row['step']:g}", f"{row['codec_param']:g}", _fmt(row["real_bpp"]),
                      _fmt(row["median_abs_pred_error_image_pct"], 2),
                      _fmt(row["median_abs_pred_error_step_pct"], 2),
                      _fmt(row["median_abs_gaussian_error_pct"], 2),
                      _fmt(row["median_abs_laplacian_error_pct"], 2),
                      _fmt(row["median_psnr_gap_signed_db"]))
    console = Console()
    console.print(table)
    pred = result["predictive_rate_error_pct"]
    console.print(
        f"calibrated |rate error| {_fmt(result['median_abs_rate_error_pct'], 4)} % (≈0 by construction); "
        f"predictive {_fmt(pred['other_images_same_step'], 2)} % (a from other images) / "
        f"{_fmt(pred['same_image_other_steps'], 2)} % (a from other steps); "
        f"|PSNR gap| {_fmt(result['median_psnr_gap_db'])} dB; "
        f"r(N, bits) {_fmt(result['rate_correlation'], 4)}; "
        f"proxy {_fmt(result['proxy_ms'], 1)} ms vs codec {_fmt(result['codec_ms'], 1)} ms per call")


def fidelity_command(
    codec: str = typer.Option("jpeg", "--codec",
                              help="Real codec to compare with: jpeg (flat-table gray JPEG, Pillow) or "
                                   "hevc (x265 intra 4:0:0 at QP = round(4 + 6·log2 Δ))."),
    data: Path = typer.Option(..., "--data", help="Folder of 8-bit images; each image's BT.601 "
                                                  "luma is coded as one gray bottleneck."),
    steps: str = typer.Option("2,4,8,16,32", "--steps", help="Comma-separated proxy steps Δ (>= 1)."),
    max_items: int = typer.Option(None, "--max-items", min=1,
                                  help="Use only the first N images (sorted by file name)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object (summary and "
                                                        "per_item) instead of a table."),
    gradients: bool = typer.Option(False, "--gradients", help="Also measure gradient fidelity: the cosine "
                                   "between the proxy's gradient (distortion: ste / noise / real-in-the-loop; "
                                   "rate: rounded / unrounded) and finite differences of the real JPEG."),
    directions: int = typer.Option(48, "--directions", min=2, help="--gradients: random directions per crop."),
) -> None:
    """Measure the proxy's rate and PSNR error against the real codec (and, with --gradients, how its
    gradients point against the real codec's), and time both."""
    from sandwich.diagnostics.fidelity import run_fidelity

    result = run_fidelity(codec, data, parse_steps(steps), max_items)
    if gradients:
        from sandwich.diagnostics.gradients import run_gradient_fidelity

        if codec != "jpeg":
            raise typer.BadParameter("--gradients measures the JPEG proxy; use --codec jpeg")
        result["gradients"] = run_gradient_fidelity(data, parse_steps(steps), max_items, directions=directions)
    if json_out:
        print(json.dumps(json_safe(result), allow_nan=False))
    else:
        _print_table(result)
        if gradients:
            _print_gradients(result["gradients"])


def _print_gradients(result: dict) -> None:
    table = Table(title=f"gradient cosine, proxy vs finite differences of the real JPEG ({result['n_items']} "
                        f"crops of {result['crop']}², {result['directions']} directions, ε = {result['eps']:g}; "
                        "mean [min, max] over crops)")
    keys = ("distortion_ste", "distortion_noise", "distortion_real", "rate_rounded", "rate_unrounded")
    table.add_column("step", justify="right")
    for k in keys:
        table.add_column(k.replace("_", " "), justify="right")
    for row in result["per_step"]:
        cells = [f"{row[k]['mean']:+.2f} [{row[k]['min']:+.2f}, {row[k]['max']:+.2f}]" if row[k] else "n/a" for k in keys]
        table.add_row(f"{row['step']:g}", *cells)
    Console().print(table)
