"""Finding a model trained by another experiment (the image sandwich a video sandwich starts from).

The run folder of an experiment is ``<out>/<name>/<config hash[:12]>`` (``bench.runner``), so the
experiment file and profile identify it; the member's ``methods/<member>/model.json`` names its model
in the store (``sandwich.store``); runs from before the store keep ``methods/<member>/final.pt``.
"""

from __future__ import annotations

from pathlib import Path

from bench.config import ExperimentConfig, RunModelRef, SandwichMethodConfig, load_config
from bench.data import expand_path
from bench.errors import BenchError
from sandwich.store import linked_model
from sandwich.train import FINAL


def _load(ref: RunModelRef) -> ExperimentConfig:
    return load_config(expand_path(ref.experiment), ref.profile)


def check_run_model_ref(ref: RunModelRef) -> None:
    """Plan-time check: the experiment loads and trains a sandwich member of that name."""
    cfg = _load(ref)
    members = [f"{m.name}.g{g:g}" for m in cfg.methods if isinstance(m, SandwichMethodConfig) for g in m.lambdas]
    if ref.method not in members:
        raise ValueError(
            f"video.init_from: {ref.experiment} has no sandwich member {ref.method!r}; "
            f"choose from: {', '.join(members) or 'none'}"
        )


def run_model_path(ref: RunModelRef, out: Path) -> Path:
    """``final.pt`` of the referenced member; an error with the command to run when it is not there."""
    cfg = _load(ref)
    member = out / cfg.name / cfg.config_hash()[:12] / "methods" / ref.method
    stored = linked_model(member)
    path = stored / FINAL if stored is not None else member / FINAL
    if not path.is_file():
        profile = f" --profile {ref.profile}" if ref.profile else ""
        raise BenchError(
            f"video.init_from: {path} does not exist; train it first with "
            f"`bench run {ref.experiment}{profile} --out {out}`"
        )
    return path
