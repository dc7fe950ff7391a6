"""A stored model's card, and putting a stored model into a member instead of training it.

Image and video members share this: both train into a folder of the model store
(:mod:`sandwich.store`), and both may load a model trained elsewhere (``weights:`` in the YAML,
``bench eval`` / ``encode`` / ``decode``) once its card matches their scenario, codec and nets.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, Protocol

from bench.checkpoint import load_checkpoint
from bench.codecs import Codec
from bench.config import SandwichMethodConfig
from bench.data import sha256_file
from bench.errors import BenchError
from bench.io_utils import write_json_atomic
from bench.method import PrepareContext, TrainingPlan
from bench.progress import say
from bench.provenance import git_sha
from bench.scenarios import Scenario
from sandwich import store, zoo
from sandwich.model import Sandwich
from sandwich.nets.complexity import count_params, macs_per_pixel
from sandwich.train import CHECKPOINT, TrainResult, finished_model, inputs_changed
from sandwich.wrapped import WrappedCodec


class Member(Protocol):
    """What an image or a video sandwich member offers the store."""

    name: str
    cfg: SandwichMethodConfig
    scenario: Scenario
    gamma: float
    source_channels: int
    modality: str
    wrapped: WrappedCodec | None
    model: Sandwich
    result: TrainResult | None

    def real_codec(self) -> Codec: ...

    def calibration(self) -> list[Any]: ...

    def restore_calibration(self, calibration: list[Any]) -> None: ...


# What a model folder's card must agree on with the member that loads it: the nets' shapes and
# the codec path they were trained around (everything else — λ, steps, data — only describes it).
MATCHED = ("scenario", "modality", "role", "source_channels")
MATCHED_METHOD = ("pre", "post", "proxy")


def _nets(member: Member) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for side in ("pre", "post"):
        net = getattr(member.model, side)
        if net is not None:
            out[side] = {"params": count_params(net), "macs_per_pixel": macs_per_pixel(net, size=64)}
    return out


def _manifest_sha(inputs: dict[str, Any]) -> str:
    items = {k: inputs.get(k) for k in ("items", "stills") if inputs.get(k)}
    return hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()


def write_card(member: Member, ctx: PrepareContext, folder: Path, inputs: dict[str, Any], trained_now: bool) -> None:
    """Describe the model in ``folder`` (once; a reused model keeps the card of the run that trained it)."""
    r = member.result
    assert r is not None
    if (folder / store.CARD).is_file() and not trained_now:
        return
    wrapped = member.wrapped
    codec = member.real_codec()
    card = {
        "kind": store.KIND,
        "format": store.MODEL_FORMAT,
        "id": folder.name,
        "member": member.name,
        "family": member.cfg.name,
        "role": member.cfg.role,
        "modality": member.modality,
        "scenario": member.scenario.name,
        "source_channels": member.source_channels,
        "gamma": member.gamma,
        "seed": ctx.seed,
        "method": member.cfg.model_dump(mode="json", exclude={"weights"}),
        "wraps": wrapped.method_config().model_dump(mode="json") if wrapped else None,
        "codec": {"name": codec.name, "options": codec.options(), "version": codec.version()},
        "training": {
            "steps": r.steps,
            "seconds": r.seconds,
            "device": ctx.device,
            "flags": r.flags,
            "checks": r.checks,
            "train_items": len(inputs.get("items", {})) + len(inputs.get("stills", {})),
            "train_manifest_sha256": _manifest_sha(inputs),
            "trained_step": r.step_size,
            "rate_calibration": member.calibration(),
        },
        "inputs_sha256": folder.name.rsplit("-", 1)[-1],
        "nets": _nets(member),
        "weights": store.WEIGHTS,
        "weights_sha256": sha256_file(folder / store.WEIGHTS),
        "git_sha": git_sha(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_json_atomic(folder / store.CARD, card)


def differences(card: dict[str, Any], member: Member) -> list[str]:
    """How a model's card does not fit ``member`` (other scenario, codec path, nets or λ); empty: it fits."""
    wrapped = member.wrapped.method_config().model_dump(mode="json") if member.wrapped else None
    mine = {
        "scenario": member.scenario.name,
        "modality": member.modality,
        "role": member.cfg.role,
        "source_channels": member.source_channels,
    }
    diff = [f"{k}: model {card.get(k)!r}, here {mine[k]!r}" for k in MATCHED if card.get(k) != mine[k]]
    if card.get("gamma") != member.gamma:
        diff.append(f"λ: model {card.get('gamma')!r}, here {member.gamma!r} (set lambdas: [{card.get('gamma')}])")
    theirs = card.get("wraps") or {}
    ours = wrapped or {}
    for k in ("codec", "options", "adapt"):
        if theirs.get(k) != ours.get(k):
            diff.append(f"wrapped codec {k}: model {theirs.get(k)!r}, here {ours.get(k)!r}")
    here = member.cfg.model_dump(mode="json")
    diff += [
        f"method.{k}: model {card['method'].get(k)!r}, here {here.get(k)!r}"
        for k in MATCHED_METHOD
        if card["method"].get(k) != here.get(k)
    ]
    return diff


def check_card(card: dict[str, Any], member: Member, folder: Path) -> None:
    """Refuse a model whose card does not fit ``member``."""
    diff = differences(card, member)
    if diff:
        raise BenchError(f"{folder.name} does not fit {member.name}: " + "; ".join(diff))


def load_stored(member: Member, folder: Path, device: str) -> dict[str, Any]:
    """Put the stored model of ``folder`` into ``member`` (checked against its card); return the card."""
    card = store.load_card(folder)
    check_card(card, member, folder)
    state = load_checkpoint(folder / store.WEIGHTS, device)
    try:
        member.model.load_state_dict(state["model"])
    except (RuntimeError, KeyError) as exc:
        raise BenchError(f"{folder / store.WEIGHTS} does not load into {member.name}: {str(exc)[:300]}") from None
    member.model.to(device).eval()
    t = card["training"]
    member.restore_calibration(t.get("rate_calibration") or [])
    member.result = TrainResult(
        t["steps"], member.model.trained_step(), t["flags"], t["checks"], t["seconds"], card["weights_sha256"]
    )
    return card


def store_folder(member: Member, ctx: PrepareContext, inputs: dict[str, Any]) -> Path:
    """Where ``member`` trains (or finds its finished model): its folder in the model store, keyed by
    ``inputs``; a model that an older bench trained into the run folder is adopted first."""
    if ctx.shared is None:
        return ctx.workdir
    folder = store.model_folder(ctx.shared, member.name, inputs)
    if store.adopt_run_model(ctx.workdir, folder):
        say(f"{member.name}: copied {ctx.workdir / store.WEIGHTS} into the model store {folder}")
    before = store.linked_model(ctx.workdir)
    if before is not None and before != folder and finished_model(folder, inputs) is None:
        # the run used another model last time: say what changed (that model stays in the store)
        why = (
            inputs_changed(load_checkpoint(before / store.WEIGHTS), inputs)
            if (before / store.WEIGHTS).is_file()
            else None
        )
        say(f"retraining {member.name}: {why or 'its training inputs changed'} (the earlier model stays in {before})")
    return folder


def finish(member: Member, ctx: PrepareContext, folder: Path, inputs: dict[str, Any], trained_now: bool) -> None:
    """Card the model, point the run's member folder at it, and log it to the member's training run."""
    write_card(member, ctx, folder, inputs, trained_now)
    if folder != ctx.workdir:
        store.link_run(ctx.workdir, folder)
    ctx.log.model(folder)


def stored_model(member: Member, ctx: PrepareContext, ref: str) -> Path:
    """The model folder ``weights: ref`` names: in the model store, or (``zoo``, ``zoo:<experiment or id>``)
    the zoo model that fits ``member``. The run folder is ``<out>/<experiment>/<hash>/``, so the
    experiment's name is two levels above ``methods/``."""
    if not zoo.is_zoo_ref(ref):
        return store.resolve(ref, ctx.out or Path("runs"))
    experiment = ctx.workdir.parents[2].name if len(ctx.workdir.parents) > 2 else ""
    return zoo.fitting(ref, member.name, member.scenario.name, experiment, lambda c: differences(c, member))


def prepare_stored(member: Member, ctx: PrepareContext, ref: str) -> None:
    """``weights:``: use a model trained elsewhere instead of training (nothing is trained)."""
    folder = stored_model(member, ctx, ref)
    load_stored(member, folder, ctx.device)
    store.link_run(ctx.workdir, folder)
    ctx.log.tags({"weights": str(folder), "trained": "no (weights)"})
    ctx.log.model(folder)
    say(f"{member.name}: using the trained model {folder} (no training)")


def training_plan(member: Member, ctx: PrepareContext, inputs: dict[str, Any]) -> list[TrainingPlan]:
    """What ``prepare`` would do: reuse ``weights``, reuse a finished stored model, resume, or train."""
    if member.cfg.weights is not None:
        return [TrainingPlan(str(stored_model(member, ctx, member.cfg.weights)), True, 0)]
    folder = store.model_folder(ctx.shared, member.name, inputs) if ctx.shared else ctx.workdir
    candidates = [folder, ctx.workdir] if folder != ctx.workdir else [folder]
    if any(finished_model(c, inputs) is not None for c in candidates):
        return [TrainingPlan(str(folder), True, 0)]
    ckpt = folder / CHECKPOINT
    done = 0
    if ckpt.is_file():
        half = load_checkpoint(ckpt)
        done = int(half.get("steps", 0)) if inputs_changed(half, inputs) is None else 0
    steps = member.cfg.train.steps
    return [TrainingPlan(str(folder), False, steps - done, done)]
