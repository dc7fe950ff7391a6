"""The model zoo: released sandwich models, ``zoo/<experiment>/<model id>/`` (``final.pt`` + ``card.json``).

Why: a long training costs hours on a CPU; a zoo model lets ``bench run EXPERIMENT --profile zoo``,
``bench eval`` / ``encode`` / ``decode`` use it without training. A zoo folder is a store folder
(:mod:`sandwich.store`) whose card carries a ``zoo`` block: how it was trained (experiment file,
profile, config hash, git sha, wall time, device, its real-codec training curve) and the BD figures
its run measured, with the command that measured them. Weights come from this project's own runs
only (``bench zoo publish``). ``$SANDWICH_ZOO`` names another zoo root (tests use a temporary one).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.io_utils import write_json_atomic
from bench.paths import REPO_ROOT
from sandwich import store

PREFIX = "zoo"  # ``weights: zoo``, ``weights: zoo:<experiment or id>``, ``--model zoo:<experiment or id>``
ENV = "SANDWICH_ZOO"


def zoo_root() -> Path:
    """``$SANDWICH_ZOO``, else ``zoo/`` at the repository root."""
    env = os.environ.get(ENV)
    return Path(env).expanduser().resolve() if env else REPO_ROOT / PREFIX


def is_zoo_ref(ref: str) -> bool:
    return ref == PREFIX or ref.startswith(PREFIX + ":")


def models(root: Path | None = None) -> list[Path]:
    """Every model folder of the zoo (``<experiment>/<id>/`` holding a card), sorted."""
    root = root or zoo_root()
    return sorted(p.parent for p in root.glob(f"*/*/{store.CARD}")) if root.is_dir() else []


def _named(ref: str, root: Path) -> list[Path]:
    """The zoo models ``zoo`` (all), ``zoo:<experiment>``, ``zoo:<experiment>/<member>`` or ``zoo:<id or unique
    prefix>`` names."""
    name = ref.removeprefix(PREFIX).removeprefix(":")
    every = models(root)
    if not name:
        return every
    experiment, _, member = name.partition("/")
    if member:
        return [m for m in every if m.parent.name == experiment and store.load_card(m).get("member") == member]
    by_experiment = [m for m in every if m.parent.name == name]
    return by_experiment or [m for m in every if m.name.startswith(name)]


def _shown(folder: Path, root: Path) -> str:
    return f"{root.name}/{folder.relative_to(root)}"


def resolve(ref: str) -> Path:
    """The one zoo model ``--model zoo:<experiment | experiment/member | id>`` names; an experiment with several
    (its long-trained and its quick member) names its longest-trained one."""
    root = zoo_root()
    found = _named(ref, root)
    if len(found) > 1 and all(m.parent.name == ref.removeprefix(PREFIX).removeprefix(":") for m in found):
        by_steps = sorted((store.load_card(m)["training"]["steps"], m) for m in found)
        if by_steps[-1][0] > by_steps[-2][0]:
            return by_steps[-1][1]
    if len(found) == 1:
        return found[0]
    if not found:
        have = ", ".join(_shown(m, root) for m in models(root)[:8]) or "none yet (bench zoo publish adds one)"
        raise BenchError(f"{ref!r} names no model of the zoo {root}; it holds: {have}")
    shown = ", ".join(_shown(m, root) for m in found)
    raise BenchError(f"{ref!r} names {len(found)} zoo models: {shown}; name one (zoo:<experiment>/<member> or an id)")


def fitting(ref: str, member: str, scenario: str, experiment: str, differences: Callable[[dict], list[str]]) -> Path:
    """The zoo model ``weights: zoo[:...]`` gives ``member``: one whose card fits it (``differences`` empty),
    those of zoo/<experiment>/ first, then the newest. None fitting: one error saying what exists and how it
    differs, or that the zoo has no model for this scenario yet and how to publish one."""
    root = zoo_root()
    cards = {m: store.load_card(m) for m in _named(ref, root)}
    fit = [m for m, c in cards.items() if not differences(c)]
    if fit:
        # zoo/<experiment>/ first, then a model published for this very member (sandwich-quick.g1 and
        # sandwich.g1 share nets and λ and differ in schedule), then the newest
        return max(
            fit,
            key=lambda m: (
                m.parent.name == experiment,
                cards[m].get("member") == member,
                cards[m].get("zoo", {}).get("published", ""),
            ),
        )
    near = sorted(
        (m for m, c in cards.items() if c.get("scenario") == scenario), key=lambda m: len(differences(cards[m]))
    )
    if not near:
        raise BenchError(
            f"the zoo ({root}) has no model for {member} of scenario {scenario} yet; train one with "
            f"`bench run experiments/{experiment}.yaml --profile long`, then publish it with "
            f"`bench zoo publish RUN_DIR {member}`"
        )
    why = "; ".join(f"{_shown(m, root)} differs in {', '.join(differences(cards[m]))}" for m in near[:3])
    raise BenchError(f"no zoo model fits {member} of {experiment}: {why}")


def curve(checks: list[dict[str, float]]) -> dict[str, Any]:
    """The real-codec training checks in brief: the untrained start, the best and the last check."""
    if not checks:
        return {}
    keep = ("iteration", "real_psnr", "real_bpp", "real_lpips")
    brief = [{k: c[k] for k in keep if k in c} for c in checks]
    return {
        "checks": len(checks),
        "start": brief[0],
        "best": max(brief, key=lambda c: c["real_psnr"]),
        "last": brief[-1],
    }


def publish(
    folder: Path,
    experiment: str,
    profile: str | None,
    bd: dict[str, Any],
    command: str,
    *,
    config_hash: str = "",
    git_sha: str = "",
    root: Path | None = None,
) -> Path:
    """Copy the stored model of ``folder`` to ``<zoo>/<experiment name>/<id>/`` with a ``zoo`` block on its card
    (``experiment`` is its file, e.g. experiments/grayscale.yaml); return the zoo folder."""
    card = store.load_card(folder)
    t = card["training"]
    block = {
        "experiment": experiment,
        "profile": profile,
        "config_hash": config_hash,
        "git_sha": git_sha,
        "wall_seconds": t["seconds"],
        "device": t["device"],
        "steps": t["steps"],
        "curve": curve(t["checks"]),
        "bd": bd,
        "command": command,
        "published": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    dest = (root or zoo_root()) / Path(experiment).stem / card["id"]
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / store.WEIGHTS, dest / store.WEIGHTS)
    write_json_atomic(dest / store.CARD, {**card, PREFIX: block})
    store.load_card(dest)  # the copy is what the card says
    return dest


def publish_run(run_dir: Path, member: str, experiment: str | None = None, root: Path | None = None) -> Path:
    """``bench zoo publish``: the member's model of a finished run, with the BD figures of its ``summary.json``."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError):
        raise BenchError(
            f"{run_dir} is not a finished run (no readable summary.json); run it to the end first"
        ) from None
    folder = store.linked_model(run_dir / "methods" / member)
    if folder is None:
        have = sorted(p.parent.name for p in (run_dir / "methods").glob(f"*/{store.LINK}"))
        raise BenchError(f"{run_dir} has no stored model for {member!r}; members with one: {', '.join(have) or 'none'}")
    card = store.load_card(folder)
    family = card["family"]
    below = [f for f in summary["methods"].get(family, {}).get("flags", []) if f.startswith("below its untrained")]
    if below:
        raise BenchError(f"{member} of {run_dir} is not published: {below[0]}")
    experiment = _repo_relative(experiment or f"experiments/{summary['experiment']}.yaml")
    profile = summary.get("profile")
    bd = {
        "method": family,
        "anchor": summary["anchor"],
        "dataset": summary["dataset"],
        "items": _items(run_dir, member),
        "headline": summary.get("headline"),
        "entries": [e for e in summary["bd"] if e["method"] == family],
        "vs_start": (summary.get("vs_start") or {}).get(family),
        "check": _check_points(run_dir, member),
    }
    command = f"bench run {experiment}" + (f" --profile {profile}" if profile else "")
    return publish(
        folder,
        experiment,
        profile,
        bd,
        command,
        config_hash=summary["config_hash"],
        git_sha=summary["git_sha"],
        root=root,
    )


def _repo_relative(path: str) -> str:
    """An experiment file of this repository as the command would name it (experiments/x.yaml)."""
    p = Path(path).resolve()
    return str(p.relative_to(REPO_ROOT)) if p.is_relative_to(REPO_ROOT) else path


def _check_points(run_dir: Path, member: str) -> dict[str, Any]:
    """The member's measured points on the run's first eval item (every rate point: bpp, bytes and each
    metric), so a test can evaluate that one item again from the released weights and compare."""
    with (run_dir / "points.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["method"] == member]
    item = rows[0]["item"]
    skip = {"method", "role", "item", "encode_s", "decode_s"}
    points = [{k: float(v) for k, v in r.items() if k not in skip and v != ""} for r in rows if r["item"] == item]
    return {"item": item, "points": sorted(points, key=lambda p: p["rate_point"])}


def _items(run_dir: Path, method: str) -> int:
    """How many eval items the run measured ``method`` on (``points.csv``)."""
    with (run_dir / "points.csv").open() as f:
        return len({row["item"] for row in csv.DictReader(f) if row["method"] == method})
