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
from sandwich import store, zoo

MODEL = typer.Option(
    ...,
    "--model",
    "-m",
    help="A trained model: its folder, its id under <out>/models/sandwich, or a zoo model "
    "(zoo:<experiment>, zoo:<experiment>/<member> or zoo:<id>).",
)
OUT_DIR = typer.Option(Path("runs"), "--out", help="The --out folder of bench run (where models/ lives).")


def model_folder(ref: str, out: Path) -> Path:
    """The folder ``--model`` names: in the zoo (``zoo:<experiment or id>``) or the model store under ``out``."""
    return zoo.resolve(ref) if zoo.is_zoo_ref(ref) else store.resolve(ref, out)


def _say(msg: str) -> None:
    typer.echo(f"[bench] {msg}", err=True)


def encode_command(
    source: Path = typer.Argument(..., help="The image (PNG, TIFF, EXR ...) or, for a video model, the clip."),
    model: str = MODEL,
    output: Path = typer.Option(..., "-o", "--output", help="The standard file to write (.jpg; a clip: .hevc/.h264)."),
    rate_point: float = typer.Option(
        None, "--rate-point", "-q", help="The codec's rate point (JPEG quality, x265 QP); default mid-range."
    ),
    frames: int = typer.Option(None, "--frames", min=1, help="A clip: code only its first N frames."),
    fps: float = typer.Option(None, "--fps", min=0.001, help="A clip of PNG frames: its frame rate."),
    out: Path = OUT_DIR,
) -> None:
    """Compress an image (or clip) with a trained sandwich into a standard file any decoder opens."""
    from sandwich.codec_file import default_rate_point, encode_clip, encode_image, stream_suffix
    from sandwich.rebuild import member_from_card
    from sandwich.video_member import VideoSandwichMember

    if not source.exists():
        raise BenchError(f"{source} does not exist")
    member, card = member_from_card(model_folder(model, out))
    rp = default_rate_point(member) if rate_point is None else rate_point
    if isinstance(member, VideoSandwichMember):
        want = stream_suffix(member)
        if output.suffix.lower() != want:
            raise BenchError(f"-o {output}: {card['id']} writes a {want[1:]} stream; name the file {want}")
        clip, rate = _clip(source, frames, fps)
        enc = encode_clip(member, card, clip, rate, output, rp)
        size = f"{clip.shape[0]} frames of {clip.shape[2]}x{clip.shape[1]} at {rate:g} fps"
        extra = (
            f"{8 * enc.nbytes * rate / clip.shape[0] / 1000:.1f} kbps; header {enc.header_bytes} bytes in {output}.json"
        )
    else:
        if output.suffix.lower() not in (".jpg", ".jpeg"):
            raise BenchError(f"-o {output}: {card['id']} writes a JPEG; name the file .jpg")
        image = member.scenario.to_source(_image(source), source.name)
        enc = encode_image(member, card, image, output, rp)
        size = f"{image.shape[1]}x{image.shape[0]}"
        extra = f"{enc.header_bytes} bytes of it the sandwich header"
    _say(
        f"{output}: {enc.nbytes} bytes, {enc.bpp:.4f} bpp over {size} (rate point {rp:g}; {extra}; model {card['id']})"
    )
    typer.echo(str(output))


def decode_command(
    coded: Path = typer.Argument(..., help="A file bench encode wrote."),
    model: str = MODEL,
    output: Path = typer.Option(
        ..., "-o", "--output", help="The reconstruction: a .png (8 or 16 bit), or for a clip a .y4m or a PNG folder."
    ),
    reference: Path = typer.Option(None, "--reference", help="The original, to print the PSNR of the result."),
    out: Path = OUT_DIR,
) -> None:
    """Decode with the standard decoder, then apply the trained post-processor."""
    from bench.metrics.psnr import plane_psnr
    from sandwich.codec_file import decode_clip, decode_image, write_png
    from sandwich.rebuild import member_from_card
    from sandwich.video_member import VideoSandwichMember

    if not coded.is_file():
        raise BenchError(f"{coded} does not exist")
    member, card = member_from_card(model_folder(model, out))
    if isinstance(member, VideoSandwichMember):
        recon, rate = decode_clip(member, card, coded)
        _write_clip(output, recon, rate)
        src = _clip(reference, recon.shape[0], rate)[0] if reference is not None else None
        bitdepth = 8
    else:
        recon = decode_image(member, card, coded)
        write_png(output, recon)
        src = member.scenario.to_source(_image(reference), reference.name) if reference is not None else None
        bitdepth = member.model.bitdepth
    if src is not None:
        if src.shape != recon.shape:
            raise BenchError(f"--reference {reference} is {src.shape}, the reconstruction {recon.shape}")
        _say(f"PSNR against {reference}: {plane_psnr(src, recon, bitdepth):.2f} dB")
    typer.echo(str(output))


def _image(path: Path) -> Any:
    from bench.data import load_image

    return load_image(path)


def _clip(path: Path, frames: int | None, fps: float | None) -> tuple[Any, float]:
    """(``T x H x W x 3`` 8-bit RGB frames, frame rate) of a clip, as an evaluation loads it."""
    from bench.video.dataset import VideoItem, clip_fps

    rate = clip_fps(path, fps)
    item = VideoItem(path.stem, path, "", fps=rate, frames=frames)
    return item.load(), float(rate)


def _write_clip(path: Path, frames: Any, fps: float) -> None:
    """A ``.y4m`` (4:4:4, the frames' own RGB as BT.601 full range) or, for any other name, PNG frames."""
    from bench.video.clip import clip_from_rgb
    from bench.video.io import write_png_frames, write_y4m

    if path.suffix.lower() == ".y4m":
        write_y4m(path, clip_from_rgb(frames, fps=fps, chroma="444", range_="full"))
    else:
        write_png_frames(path, frames)


def eval_experiment(model: str, data: Path, out: Path, glob: str = "*.png", metrics: list[str] | None = None) -> Path:
    """Write (under ``<out>/evals/``) an experiment that evaluates the stored model, beside the codec
    configuration it wraps as the anchor, on the images of ``data``; return its path."""
    from bench.scenarios import SCENARIOS

    folder = model_folder(model, out)
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
