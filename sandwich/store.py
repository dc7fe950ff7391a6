"""Trained sandwich models as artefacts: ``<out>/models/sandwich/<id>/`` with ``final.pt`` and ``card.json``.

Why: a model depends on what it was trained from (the training items' contents, the method's nets,
proxy and training configuration, λ, seed, scenario, the wrapped codec's configuration) and on the
model code's format, never on the evaluation set or ``--max-items``. Keying the folder by exactly
that lets every experiment, eval set and ``bench eval`` / ``encode`` / ``decode`` reuse one training.
The card says, in plain JSON, what the weights are and how they were made; ``load_card`` checks the
weights' sha256 against it before anything uses them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from bench.data import sha256_file
from bench.errors import BenchError
from bench.io_utils import write_json_atomic

KIND = "sandwich"
CARD = "card.json"
WEIGHTS = "final.pt"
LINK = "model.json"  # in a run's methods/<member>/: which stored model the member used
# The model code's format: bump it when a change to the nets or the model's state dict makes
# weights trained before it mean something else (old folders are then never reused).
MODEL_FORMAT = 1


def model_id(member: str, inputs: dict[str, Any]) -> str:
    """``<member>-<12 hex>``: the member's name for people, the hash of its training inputs for identity."""
    blob = json.dumps({"format": MODEL_FORMAT, "inputs": inputs}, sort_keys=True, default=str)
    return f"{member}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def store_root(shared: Path) -> Path:
    return shared / KIND


def model_folder(shared: Path, member: str, inputs: dict[str, Any]) -> Path:
    return store_root(shared) / model_id(member, inputs)


def adopt_run_model(old: Path, new: Path) -> bool:
    """Copy a model trained before the store existed (``<run>/methods/<member>/final.pt``) into its
    store folder, so upgrading bench does not retrain it; the run folder keeps its copy. The caller
    then checks the copy's recorded inputs as for any stored model."""
    src = old / WEIGHTS
    if not src.is_file() or (new / WEIGHTS).is_file():
        return False
    new.mkdir(parents=True, exist_ok=True)
    tmp = new / f".{WEIGHTS}.adopt"
    shutil.copyfile(src, tmp)
    tmp.replace(new / WEIGHTS)
    return True


def link_run(workdir: Path, folder: Path) -> None:
    """Record in the run's ``methods/<member>/`` which stored model the member used."""
    write_json_atomic(workdir / LINK, {"model": folder.name, "path": str(folder)})


def linked_model(workdir: Path) -> Path | None:
    """The stored model a run's member used (its link), or None."""
    try:
        return Path(json.loads((workdir / LINK).read_text())["path"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def resolve(ref: str | Path, out: Path) -> Path:
    """The model folder ``ref`` names: a folder (or its ``card.json`` / ``final.pt``), or an id (or a
    unique prefix of one) under ``<out>/models/sandwich``."""
    p = Path(ref).expanduser()
    if p.is_file() and p.name in (CARD, WEIGHTS):
        p = p.parent
    if p.is_dir():
        if not (p / CARD).is_file():
            raise BenchError(f"{p} is not a trained model folder (no {CARD}); pass a folder under {out}/models/{KIND}")
        return p.resolve()
    root = store_root(out / "models")
    found = sorted(d for d in root.glob(f"{ref}*") if (d / CARD).is_file()) if root.is_dir() else []
    exact = [d for d in found if d.name == str(ref)]
    if exact or len(found) == 1:
        return (exact or found)[0].resolve()
    if not found:
        known = sorted(d.name for d in root.iterdir() if (d / CARD).is_file()) if root.is_dir() else []
        hint = f"models there: {', '.join(known[:8])}" if known else "train one with `bench run EXPERIMENT.yaml` first"
        raise BenchError(f"no trained model {str(ref)!r} under {root} ({hint}); or pass the model's folder")
    raise BenchError(f"{str(ref)!r} names {len(found)} models under {root}: {', '.join(d.name for d in found)}")


def load_card(folder: Path) -> dict[str, Any]:
    """The card of a stored model, after checking that its weights are the ones it describes."""
    try:
        card = json.loads((folder / CARD).read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(f"{folder / CARD} is not a readable model card ({exc}); retrain the model") from None
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise BenchError(f"{folder} has a card but no {WEIGHTS}; retrain the model")
    if card.get("kind") != KIND or card.get("format") != MODEL_FORMAT:
        raise BenchError(
            f"{folder / CARD} is a {card.get('kind')!r} model of format {card.get('format')!r}; this bench reads "
            f"{KIND!r} models of format {MODEL_FORMAT}"
        )
    got = sha256_file(weights)
    if got != card.get("weights_sha256"):
        raise BenchError(
            f"{weights} does not match its card (sha256 {got[:12]}, card says "
            f"{str(card.get('weights_sha256'))[:12]}); the weights were changed or the card is stale"
        )
    return card
