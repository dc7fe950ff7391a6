"""CompressAI architectures as one table: model class, stream layout, channels, weight files, λ.

Everything that differs per architecture lives here, once (CompressAI's zoo copies its quality
check per architecture). Weight file names and URLs come from CompressAI's own table
(``compressai.zoo.image.model_urls``), channel counts from ``compressai.zoo.image.cfgs``, so
they cannot drift from the installed version.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from baselines.compressai_import import import_compressai
from bench.errors import BenchError

# CompressAI's training λ per quality (zoo docs, "Training"): MSE loss is λ·255²·MSE + bpp,
# MS-SSIM loss is λ·(1 - MS-SSIM) + bpp.
PUBLISHED_LAMBDAS = {
    "mse": (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800),
    "ms-ssim": (2.40, 4.58, 8.73, 16.64, 31.73, 60.50, 115.37, 220.00),
}


@dataclass(frozen=True)
class Arch:
    """What the method needs to know about one architecture."""

    name: str
    class_name: str  # in compressai.models
    n_strings: int  # strings per image that compress() returns
    shape_stride: int  # stride of the latent whose size decompress() takes (y: 16, z: 64)


ARCHS = {
    a.name: a
    for a in (
        Arch("bmshj2018-factorized", "FactorizedPrior", 1, 16),
        Arch("bmshj2018-hyperprior", "ScaleHyperprior", 2, 64),
        Arch("mbt2018-mean", "MeanScaleHyperprior", 2, 64),
        Arch("cheng2020-anchor", "Cheng2020Anchor", 2, 64),
    )
}


def standard_channels(arch: str, quality: int) -> tuple[int, ...]:
    """CompressAI's channel counts for this quality (what the published weights use)."""
    return tuple(import_compressai().zoo.image.cfgs[arch][quality])


def new_model(arch: str, channels: tuple[int, ...]) -> Any:
    """An untrained model with these channel counts."""
    cai = import_compressai()
    return getattr(cai.models, ARCHS[arch].class_name)(*channels)


def weight_url(arch: str, metric: str, quality: int) -> str:
    return import_compressai().zoo.image.model_urls[arch][metric][quality]


def weight_file_name(arch: str, metric: str, quality: int) -> str:
    """The zoo's file name, as ``torch.hub`` stores it in ``<hub dir>/checkpoints``."""
    return weight_url(arch, metric, quality).rsplit("/", 1)[1]


def hub_checkpoint_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def find_pretrained(arch: str, metric: str, quality: int, checkpoint_dir: Path | None) -> Path:
    """The published weight file for one quality; BenchError naming the file to place if absent."""
    name = weight_file_name(arch, metric, quality)
    folder = checkpoint_dir if checkpoint_dir is not None else hub_checkpoint_dir()
    if (folder / name).is_file():
        return folder / name
    raise BenchError(
        f"weights for {arch} q={quality} ({metric}) not found: place {name} in {folder} "
        f"(from {weight_url(arch, metric, quality)}), or set weights: trained_here"
    )


def load_pretrained(arch: str, path: Path) -> Any:
    """A model from a zoo file, keys renamed as CompressAI's zoo does (old layouts included)."""
    cai = import_compressai()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated download, not a checkpoint, pickle refused
        raise BenchError(f"cannot read CompressAI weights {path}: {exc}; delete it and place the file again") from None
    state = cai.zoo.pretrained.load_pretrained(state.get("state_dict", state))
    model = getattr(cai.models, ARCHS[arch].class_name).from_state_dict(state).eval()
    with torch.no_grad():
        model.update()  # builds the coder's tables only if the file lacks them; stored ones are kept
    return model
