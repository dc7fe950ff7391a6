"""What every compared method looks like to the harness: rate points in, real bytes + pixels out.

A method is evaluated per (rate point, item): it gets the item's frames (:class:`bench.source.Source`,
one frame for an image) and returns the real bitstream size and the reconstruction on the source's grid.
Learned methods train in ``prepare`` (once per run, checkpointed by themselves); plain codecs need nothing there.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bench.source import Source


@dataclass(frozen=True)
class ItemResult:
    """One reconstruction: ``nbytes`` is the real bitstream size the rate is computed from."""

    decoded: np.ndarray
    nbytes: int
    encode_s: float
    decode_s: float
    command: str
    extra: dict[str, Any] = field(default_factory=dict)
    bottleneck: np.ndarray | None = None  # the neural code image, for methods that have one


class RunLog(Protocol):
    """Where a learned method logs its training curves (an MLflow child run in ``bench run``)."""

    def metrics(self, values: dict[str, float], step: int) -> None: ...

    def tags(self, values: dict[str, str]) -> None: ...

    def model(self, folder: Path) -> None:
        """Log a trained model's folder (weights and card) as an artefact."""


@dataclass(frozen=True)
class PrepareContext:
    """What a learned method may use to train: its own folder, the train items, device, seed, log."""

    workdir: Path
    train_items: tuple[Any, ...]
    device: str
    seed: int
    log: RunLog
    shared: Path | None = None  # <out>/models: models that depend only on their spec + train set
    train_hash: str = ""  # sha256 of the train set's manifest (part of a shared model's key)
    out: Path | None = None  # the --out folder (other experiments' runs live under it)


@dataclass(frozen=True)
class TrainingPlan:
    """What ``prepare`` will do for one model (``bench run --dry-run``): reuse a finished one, or train."""

    model: str  # where the model lives (a folder or file under <out>/models, or the method's own folder)
    reused: bool  # a finished model trained from the same inputs exists there
    steps: int  # training steps still to run (0 when reused)
    resumes_at: int = 0  # a half-done checkpoint's step, when training continues from one


def class_modules(obj: object) -> tuple[str, ...]:
    """The project's modules that define ``obj``'s class and its bases (for ``code_modules``); this
    module's interface computes nothing, so it is left out."""
    names = (c.__module__ for c in type(obj).__mro__)
    ours = (n for n in names if n != __name__ and n.split(".")[0] in ("bench", "baselines", "sandwich", "proxies"))
    return tuple(dict.fromkeys(ours))


class Method(ABC):
    name: str
    role: str
    label: str
    family: str | None = None  # members of a family (one per lambda) share one Pareto RD curve
    seed: int | None = None  # the training seed of a member of an experiment's ``seeds`` grid

    def assign_seed(self, seed: int) -> None:
        """Make this the member trained with ``seed`` of the experiment's ``seeds``: its own name keeps its
        cells, runs and stored model apart from the other seeds'."""
        self.seed, self.name, self.label = seed, f"{self.name}.s{seed}", f"{self.label}, seed {seed}"

    @abstractmethod
    def rate_points(self) -> list[float]:
        """The rate parameters evaluated (quality, QP, step, or λ index for learned methods)."""

    def prepare(self, ctx: PrepareContext) -> None:  # noqa: B027 - an optional hook, not abstract
        """Train or load what the method needs; plain codecs need nothing."""

    def training_plan(self, ctx: PrepareContext) -> list[TrainingPlan]:
        """What ``prepare`` would train or reuse, found without training (none for plain codecs)."""
        return []

    @abstractmethod
    def run(self, source: Source, rate_point: float) -> ItemResult:
        """Code ``source`` at ``rate_point`` through the real codec; ``decoded`` is shaped like its frames."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Provenance for results ``meta``: codec, options, versions."""

    def complexity(self) -> dict[str, Any] | None:
        """A learned method's network size (``params``, ``macs_per_pixel``, ``fps_cpu``, ``fps_gpu``; a key it
        cannot count is absent) for the results ``meta`` the report's complexity table reads; None without a
        network. Called after ``prepare``."""
        return None

    def code_modules(self) -> tuple[str, ...]:
        """Modules whose source decides what ``run`` returns; a finished cell is recomputed when one of
        them changes (``bench.reuse``). List what computes the output, not what merely calls it."""
        return class_modules(self)


class FrameMethod(Method):
    """A method that codes each frame on its own (an image codec; all-intra on a clip).

    Subclasses implement ``run_frame``; the frames' bytes and times add up, the first frame's command,
    extras and bottleneck stand for the item."""

    @abstractmethod
    def run_frame(self, image: np.ndarray, bitdepth: int, rate_point: float) -> ItemResult:
        """Code one ``H x W x C`` frame at ``rate_point``; ``decoded`` is ``H x W x C``."""

    def run(self, source: Source, rate_point: float) -> ItemResult:
        coded = [self.run_frame(frame, source.bitdepth, rate_point) for frame in source.frames]
        first = coded[0]
        return replace(
            first,
            decoded=np.stack([c.decoded for c in coded]),
            nbytes=sum(c.nbytes for c in coded),
            encode_s=sum(c.encode_s for c in coded),
            decode_s=sum(c.decode_s for c in coded),
        )
