"""``bench proxy``: the training proxies against the real codecs, and what they cost.

Every subcommand prints a table (or aligned lines) for people on stdout, or with ``--json`` one strict
JSON object instead (inf/NaN as null); progress goes to stderr; lists are comma-separated
(``--steps 2,4,8``). Heavy modules (torch, codecs) load inside the command that runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from bench.errors import BenchError
from bench.io_utils import json_safe

app = typer.Typer(
    no_args_is_help=True,
    help="The differentiable proxies against the real codecs (rate, "
    "distortion, gradients) and what they cost per training step.",
)


def parse_numbers(text: str, option: str, kind: type[float | int] = float) -> list:
    """``"2,4,8"`` -> ``[2.0, 4.0, 8.0]`` (or ints); a bad list is one error line naming the option."""
    try:
        values = [kind(s) for s in text.split(",") if s.strip()]
    except ValueError:
        values = []
    if not values:
        raise BenchError(f"{option} {text!r}: expected comma-separated numbers such as 2,4,8")
    return values


def parse_names(text: str | None, option: str, choices: list[str]) -> list[str]:
    """``"a,b"`` -> ``["a", "b"]``, each one of ``choices``; None -> every choice."""
    if text is None:
        return choices
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names or any(n not in choices for n in names):
        raise BenchError(f"{option} {text!r}: choose from {', '.join(choices)}")
    return names


def _emit(result: dict, json_out: bool, show: Callable[[dict], None]) -> None:
    """The one output convention: ``show`` for people, or one JSON object on one line."""
    if json_out:
        print(json.dumps(json_safe(result), allow_nan=False))
    else:
        show(result)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


DATA_HELP = "Folder of 8-bit images; each image's BT.601 luma is coded as one gray bottleneck."
STEPS_HELP = "Comma-separated proxy steps Δ (>= 1)."
MAX_ITEMS_HELP = "Use only the first N images (sorted by file name)."
JSON_HELP = "Print one JSON object instead of a table."


@app.command()
def fidelity(
    data: Path = typer.Option(..., "--data", help=DATA_HELP),
    codec: str = typer.Option(
        "jpeg",
        "--codec",
        help="Real codec to compare with: jpeg (flat-table gray JPEG, Pillow) or "
        "hevc (x265 intra 4:0:0 at QP = round(4 + 6·log2 Δ)).",
    ),
    steps: str = typer.Option("2,4,8,16,32", "--steps", help=STEPS_HELP),
    max_items: int | None = typer.Option(None, "--max-items", min=1, help=MAX_ITEMS_HELP),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """The image proxy's rate and PSNR error against the real codec, and the time of each."""
    from sandwich.diagnostics.fidelity import run_fidelity

    _emit(run_fidelity(codec, data, parse_numbers(steps, "--steps"), max_items), json_out, _print_fidelity)


@app.command()
def gradients(
    data: Path = typer.Option(..., "--data", help=DATA_HELP),
    steps: str = typer.Option("2,4,8,16,32", "--steps", help=STEPS_HELP),
    max_items: int | None = typer.Option(None, "--max-items", min=1, help=MAX_ITEMS_HELP),
    directions: int = typer.Option(48, "--directions", min=2, help="Random directions per crop."),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """The cosine between the JPEG proxy's gradients (distortion: ste / noise / real-in-the-loop; rate:
    rounded / unrounded) and finite differences of the real JPEG."""
    from sandwich.diagnostics.gradients import run_gradient_fidelity

    result = run_gradient_fidelity(data, parse_numbers(steps, "--steps"), max_items, directions=directions)
    _emit(result, json_out, _print_gradients)


@app.command()
def speed(
    batch: int = typer.Option(8, "--batch", min=1, help="Bottlenecks per batch."),
    channels: int = typer.Option(3, "--channels", min=1, help="Bottleneck channels (each its own plane)."),
    size: int = typer.Option(256, "--size", min=8, help="Height and width in pixels."),
    device: str = typer.Option("cpu", "--device", help="torch device for the proxy and the U-Nets."),
    target: str = typer.Option("jpeg", "--target", help="Calibration codec: jpeg or hevc."),
    repeats: int = typer.Option(5, "--repeats", min=1, help="Timed runs per figure (median)."),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Time the proxy (forward + backward), its real-codec calibration and a slim-U-Net step."""
    from sandwich.diagnostics.proxy_speed import proxy_benchmark

    _emit(proxy_benchmark(batch, channels, size, device, target, repeats=repeats), json_out, _print_speed)


@app.command("loop-speed")
def loop_speed(
    batch: int = typer.Option(8, "--batch", min=1, help="Kodak crops (or clips) per batch."),
    crop: int = typer.Option(128, "--crop", min=8, max=256, help="Side of each crop in pixels."),
    repeats: int = typer.Option(5, "--repeats", min=1, help="Timed steps per mode (median)."),
    video: bool = typer.Option(False, "--video", help="A video sandwich wrapping ½-res x265 4:4:4 on clips."),
    frames: int = typer.Option(5, "--frames", min=2, help="Frames per clip (--video)."),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Time one full training step of a slim sandwich wrapping JPEG 4:2:0 (or, --video, ½-res x265 4:4:4)
    for each train.codec_in_loop mode (proxy, real, real_ste)."""
    from sandwich.diagnostics.loop_speed import loop_benchmark, video_loop_benchmark

    _emit(
        video_loop_benchmark(batch, crop, frames, repeats) if video else loop_benchmark(batch, crop, repeats),
        json_out,
        lambda r: print("\n".join(f"  {k:22s} {v}" for k, v in r.items())),
    )


@app.command("video-fidelity")
def video_fidelity(
    clips: str | None = typer.Option(
        None,
        "--clips",
        help="Comma-separated clips of the shared data's video folder "
        "(default: all five: BasketballPass, foreman, CiscoVT2people, park_joy, sparks).",
    ),
    frames: int = typer.Option(10, "--frames", min=1, help="First N frames of each clip."),
    qps: str = typer.Option("22,27,32,37,42", "--qps", help="Comma-separated x265 QPs."),
    rates: str | None = typer.Option(
        None, "--rates", help="Comma-separated proxy rate models (default: all four: jpeg, hevc, laplacian, gaussian)."
    ),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """The video proxy's rate against real x265 (4:0:0, low-delay P) over clips and QPs, on source luma."""
    from sandwich.diagnostics.video_fidelity import CLIPS, RATES, run_video_fidelity

    result = run_video_fidelity(
        parse_names(clips, "--clips", list(CLIPS)),
        frames,
        parse_numbers(qps, "--qps", int),
        parse_names(rates, "--rates", list(RATES)),
    )
    _emit(result, json_out, _print_video)


def _print_fidelity(result: dict) -> None:
    table = Table(title=f"proxy vs {result['codec']} on {result['n_items']} images ({result['bottleneck']})")
    for col in (
        "step",
        "param",
        "real bpp",
        "pred err % (other imgs)",
        "pred err % (other steps)",
        "gaussian err %",
        "laplacian err %",
        "PSNR gap dB",
    ):
        table.add_column(col, justify="right")
    for row in result["per_step"]:
        table.add_row(
            f"{row['step']:g}",
            f"{row['codec_param']:g}",
            _fmt(row["real_bpp"]),
            _fmt(row["median_abs_pred_error_image_pct"], 2),
            _fmt(row["median_abs_pred_error_step_pct"], 2),
            _fmt(row["median_abs_gaussian_error_pct"], 2),
            _fmt(row["median_abs_laplacian_error_pct"], 2),
            _fmt(row["median_psnr_gap_signed_db"]),
        )
    console = Console()
    console.print(table)
    pred = result["predictive_rate_error_pct"]
    console.print(
        f"calibrated |rate error| {_fmt(result['median_abs_rate_error_pct'], 4)} % (≈0 by construction); "
        f"predictive {_fmt(pred['other_images_same_step'], 2)} % (a from other images) / "
        f"{_fmt(pred['same_image_other_steps'], 2)} % (a from other steps); "
        f"|PSNR gap| {_fmt(result['median_psnr_gap_db'])} dB; "
        f"r(N, bits) {_fmt(result['rate_correlation'], 4)}; "
        f"proxy {_fmt(result['proxy_ms'], 1)} ms vs codec {_fmt(result['codec_ms'], 1)} ms per call"
    )


def _print_gradients(result: dict) -> None:
    table = Table(
        title=f"gradient cosine, proxy vs finite differences of the real JPEG ({result['n_items']} "
        f"crops of {result['crop']}², {result['directions']} directions, ε = {result['eps']:g}; "
        "mean [min, max] over crops)"
    )
    keys = ("distortion_ste", "distortion_noise", "distortion_real", "rate_rounded", "rate_unrounded")
    table.add_column("step", justify="right")
    for k in keys:
        table.add_column(k.replace("_", " "), justify="right")
    for row in result["per_step"]:
        cells = [
            f"{row[k]['mean']:+.2f} [{row[k]['min']:+.2f}, {row[k]['max']:+.2f}]" if row[k] else "n/a" for k in keys
        ]
        table.add_row(f"{row['step']:g}", *cells)
    Console().print(table)


def _print_speed(result: dict) -> None:
    print(
        f"proxy {result['shape']} on {result['device']} ({result['threads']} threads), "
        f"calibrated to {result['target']} with {result['workers']} workers:"
    )
    for key in ("proxy_ms", "calibration_ms", "calibration_serial_ms", "proxy_calibration_free_ms", "rest_ms"):
        print(f"  {key:28s} {result[key]:9.1f}")
    print(f"  rest = {result['rest_measured']}")
    print(
        f"  proxy share of the step {100 * result['proxy_share']:.1f} %, "
        f"calibration share {100 * result['calibration_share']:.1f} %"
    )


def _print_video(result: dict) -> None:
    rates = list(result["summary"])
    for name, rows in result["results"].items():
        print(f"{name}: {result['inputs'][name]}")
        for r in rows:
            cols = "  ".join(f"{m} {r[f'{m}_kbps']:8.1f} ({r[f'{m}_psnr_y']:.2f})" for m in rates)
            print(f"  QP {r['qp']:2d}  x265 {r['x265_kbps']:8.1f} kbps ({r['x265_psnr_y']:.2f} dB)  {cols}")
    for rate, s in result["summary"].items():
        print(
            f"{rate:9s} r(log)={s['pearson_log']:.4f}  proxy/x265 median {s['ratio_median']:.2f} "
            f"[{s['ratio_min']:.2f}, {s['ratio_max']:.2f}]  per-clip calibrated at mid QP: "
            f"mean |err| {100 * s['calibrated_error_mean']:.1f}% max "
            f"{100 * s['calibrated_error_max']:.1f}%  ({s['points']} points)"
        )
