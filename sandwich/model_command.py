"""``bench encode`` / ``bench decode`` with a stored model, and the experiment ``bench eval`` runs.

Why here and not in the driver: building a model from its card and writing a standard file is the
sandwich's business; ``bench.cli`` only wires the commands and hands ``bench eval``'s experiment to
the runner, so an evaluation of a stored model is an ordinary run (same cells, BD, MLflow, report).
Torch and the codecs load inside the commands, so ``bench --help`` stays fast.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import typer
import yaml

from bench.errors import BenchError
from sandwich import store

MODEL = typer.Option(..., "--model", "-m", help="A trained model: its folder, or its id under <out>/models/sandwich.")
OUT_DIR = typer.Option(Path("runs"), "--out", help="The --out folder of bench run (where models/ lives).")


def _say(msg: str) -> None:
    typer.echo(f"[bench] {msg}", err=True)


def encode_command(
    image: Path = typer.Argument(..., help="The image to compress (PNG, TIFF, EXR ...)."),
    model: str = MODEL,
    output: Path = typer.Option(..., "-o", "--output", help="The standard file to write (.jpg)."),
    rate_point: float = typer.Option(
        None, "--rate-point", "-q", help="The codec's rate point (JPEG quality for a wrapped JPEG); default mid-range."
    ),
    out: Path = OUT_DIR,
) -> None:
    """Compress an image with a trained sandwich into a standard JPEG any decoder opens."""
    from bench.data import load_image
    from sandwich.codec_file import default_rate_point, encode_image
    from sandwich.rebuild import member_from_card

    if output.suffix.lower() not in (".jpg", ".jpeg"):
        raise BenchError(f"-o {output}: bench encode writes a JPEG; name the file .jpg")
    member, card = member_from_card(store.resolve(model, out))
    source = member.scenario.to_source(load_image(image), image.name)
    rp = default_rate_point(member) if rate_point is None else rate_point
    enc = encode_image(member, card, source, output, rp)
    _say(
        f"{output}: {enc.nbytes} bytes, {enc.bpp:.4f} bpp over {source.shape[1]}x{source.shape[0]} "
        f"(rate point {rp:g}; {enc.header_bytes} bytes of it the sandwich header, model {card['id']})"
    )
    typer.echo(str(output))


def decode_command(
    coded: Path = typer.Argument(..., help="A file bench encode wrote."),
    model: str = MODEL,
    output: Path = typer.Option(..., "-o", "--output", help="The reconstruction to write (.png, 8 or 16 bit)."),
    reference: Path = typer.Option(None, "--reference", help="The original, to print the PSNR of the result."),
    out: Path = OUT_DIR,
) -> None:
    """Decode with the standard decoder, then apply the trained post-processor."""
    from bench.data import load_image
    from bench.metrics.psnr import plane_psnr
    from sandwich.codec_file import decode_image, write_png
    from sandwich.rebuild import member_from_card

    if not coded.is_file():
        raise BenchError(f"{coded} does not exist")
    member, card = member_from_card(store.resolve(model, out))
    recon = decode_image(member, card, coded)
    write_png(output, recon)
    if reference is not None:
        src = member.scenario.to_source(load_image(reference), reference.name)
        if src.shape != recon.shape:
            raise BenchError(f"--reference {reference} is {src.shape}, the reconstruction {recon.shape}")
        _say(f"PSNR against {reference.name}: {plane_psnr(src, recon, member.model.bitdepth):.2f} dB")
    typer.echo(str(output))


def eval_experiment(model: str, data: Path, out: Path, glob: str = "*.png", metrics: list[str] | None = None) -> Path:
    """Write (under ``<out>/evals/``) an experiment that evaluates the stored model, beside the codec
    configuration it wraps as the anchor, on the images of ``data``; return its path."""
    from bench.scenarios import SCENARIOS

    folder = store.resolve(model, out)
    card = store.load_card(folder)
    if not card.get("wraps"):
        raise BenchError(
            f"{card['id']} does not wrap a codec method, so there is no anchor to compare it with; "
            "evaluate it inside an experiment with weights: instead"
        )
    if not data.is_dir():
        raise BenchError(f"--data {data} is not a folder of images")
    anchor = card["wraps"]
    method: dict[str, Any] = {**card["method"], "lambdas": [card["gamma"]], "weights": str(folder)}
    method.pop("label", None)
    if method.get("video"):
        raise BenchError(f"{card['id']} is a video model; bench eval evaluates image models")
    where = str(data.resolve())
    doc = {
        "name": f"eval-{card['id']}",
        "description": f"{card['id']} ({card['scenario']}, trained {card['training']['steps']} steps) on {where}",
        "scenario": card["scenario"],
        "seed": card["seed"],
        "data": {"eval": {"folder": where, "glob": glob}},
        "evaluation": {
            "metrics": metrics or list(SCENARIOS.get(card["scenario"]).default_metrics),
            "anchor": anchor["name"],
        },
        "methods": [anchor, method],
    }
    path = out / "evals" / f"{doc['name']}-{hashlib.sha256(f'{where}/{glob}'.encode()).hexdigest()[:8]}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
