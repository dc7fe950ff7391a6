"""Check a validated config against what exists (codecs, metrics, data) and build the methods.

Everything here runs before any encoding, so a wrong name, a bad codec option, a missing data
folder or an unreadable image stops the run with one line and leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.builders import BuildContext, build_methods
from bench.config import (
    CodecMethodConfig,
    CompressAIMethodConfig,
    ExperimentConfig,
    ReferenceMethodConfig,
    SandwichMethodConfig,
)
from bench.data import Dataset, Item, expand_path
from bench.errors import BenchError, ConfigError, DataError
from bench.method import Method
from bench.modality import Modality, modality_of
from bench.published import PublishedCurve
from bench.registry import UnknownNameError
from bench.results import rate_key
from bench.scenarios import SCENARIOS, Scenario
from bench.source import Source


@dataclass
class Plan:
    cfg: ExperimentConfig
    scenario: Scenario
    modality: Modality
    eval_set: Dataset
    train_set: Dataset | None
    methods: list[Method]
    references: list[PublishedCurve]
    sources: dict[str, Source]
    stills_set: Dataset | None = None  # video: stills a sandwich trains on with synthetic motion

    @property
    def metrics(self) -> list[str]:
        return list(self.cfg.evaluation.metrics)

    @property
    def headline(self) -> str:
        """The metric the run is judged on first (``evaluation.headline``, default the first metric)."""
        return self.cfg.evaluation.headline_metric()

    @property
    def video(self) -> bool:
        return self.modality.name == "video"

    @property
    def rate_keys(self) -> tuple[str, ...]:
        """Every rate column the rows carry (video keeps bpp per frame beside kbps)."""
        return self.modality.rate_keys

    @property
    def rate_key(self) -> str:
        """The rate axis: kbps for video (real frame rate), bpp for images."""
        return self.rate_keys[0]

    @property
    def measured_depths(self) -> tuple[int, ...]:
        """The true depths of items held on a deeper scale (their saturation lines differ)."""
        return tuple(s.measured_depth for s in self.sources.values() if s.measured_depth is not None)


def build_plan(cfg: ExperimentConfig) -> Plan:
    """Resolve every name and file the experiment mentions; load and check the eval sources."""
    modality = modality_of(cfg)
    scenario = _scenario(cfg, modality)
    modality.check_metrics(cfg)
    references = [PublishedCurve(m, expand_path(m.path)) for m in cfg.methods if isinstance(m, ReferenceMethodConfig)]
    # codec methods first: their options and rate points need no data, so a bad one fails before any is read
    early = BuildContext(cfg, scenario, video=modality.name == "video")
    codec_methods = {
        i: build_methods(i, m, early) for i, m in enumerate(cfg.methods) if isinstance(m, CodecMethodConfig)
    }
    eval_set, train_set, stills = modality.datasets(cfg)
    _check_training_data(cfg, train_set, stills)
    sources = {it.name: _load(modality, it, scenario, cfg) for it in eval_set.items}
    channels = {src.channels for src in sources.values()}
    if len(channels) != 1:
        raise DataError(f"data.eval: items have different channel counts {sorted(channels)}; use one kind of image")
    ctx = BuildContext(cfg, scenario, video=early.video, channels=channels.pop(), eval_set=eval_set, stills=stills)
    methods = [
        built
        for i, m in enumerate(cfg.methods)
        if not isinstance(m, ReferenceMethodConfig)
        for built in codec_methods.get(i) or build_methods(i, m, ctx)
    ]
    check_cell_keys(cfg, methods)
    return Plan(cfg, scenario, modality, eval_set, train_set, methods, references, sources, stills)


def _scenario(cfg: ExperimentConfig, modality: Modality) -> Scenario:
    names = modality.scenario_names()
    if cfg.scenario in SCENARIOS and cfg.scenario not in names:
        raise ConfigError(f"scenario: {cfg.scenario!r} is not for {modality.name}; choose from: {', '.join(names)}")
    try:
        return SCENARIOS.get(cfg.scenario)
    except UnknownNameError as exc:
        raise ConfigError(f"scenario: {exc}") from None


def _check_training_data(cfg: ExperimentConfig, train_set: Dataset | None, stills: Dataset | None) -> None:
    learned = [
        m.name
        for m in cfg.methods
        if (isinstance(m, SandwichMethodConfig) and m.weights is None)
        or (isinstance(m, CompressAIMethodConfig) and m.weights == "trained_here" and not (m.train and m.train.data))
    ]
    if learned and train_set is None and stills is None:
        example = (
            "training clips (data.train: {video: [...]}) or stills (data.train_stills: {set: bsds500})"
            if cfg.data.eval.video is not None
            else "a train set (e.g. data.train: {set: bsds500})"
        )
        raise ConfigError(f"data.train: methods {', '.join(learned)} are trained, so the experiment needs {example}")


def _load(modality: Modality, item: Item, scenario: Scenario, cfg: ExperimentConfig) -> Source:
    try:
        return modality.source(item, scenario, cfg)
    except BenchError:
        raise
    except Exception as exc:  # anything else while decoding is still a bad input file
        raise DataError(f"cannot use {item.path}: {exc}") from None


def check_cell_keys(cfg: ExperimentConfig, methods: list[Method]) -> None:
    """Every (method, rate point) must file under its own cell, ``cells/<method>/<rate key>.json`` (and MLflow
    run ``<method>@<rate key>``): two rate points or two λ that print alike would share one silently."""
    entry = {mc.name: (i, mc) for i, mc in enumerate(cfg.methods)}
    names: set[str] = set()
    for m in methods:
        i, mc = entry[m.family or m.name]
        where = f"methods.{i} ({mc.name})"
        if m.name in names:
            if isinstance(mc, SandwichMethodConfig):
                seeded = f".s{m.seed}" if m.seed is not None else ""
                alike = [g for g in mc.lambdas if f"{mc.name}.g{g:g}{seeded}" == m.name]
                if len(alike) > 1:
                    a, b = alike[:2]
                    same = f"{a!r} is listed twice" if a == b else f"{a!r} and {b!r} both name the member {m.name!r}"
                    raise ConfigError(
                        f"{where}.lambdas: {same} (γ keeps 6 significant digits); list each λ once, "
                        "differing within 6 significant digits"
                    )
            raise ConfigError(f"{where}: the name {m.name!r} is taken by another method; rename one")
        names.add(m.name)
        if isinstance(mc, SandwichMethodConfig) and mc.wraps is not None:
            continue  # the wrapped codec's rate points, checked on that method
        field = (
            "step_factors"
            if isinstance(mc, SandwichMethodConfig)
            else ("qualities" if isinstance(mc, CompressAIMethodConfig) else "rate_points")
        )
        seen: dict[str, float] = {}
        for rp in m.rate_points():
            key = rate_key(rp)
            if key in seen:
                same = (
                    f"{rp!r} is listed twice" if seen[key] == rp else f"{seen[key]!r} and {rp!r} both file as {key!r}"
                )
                raise ConfigError(
                    f"{where}.{field}: {same} (cells/{m.name}/{key}.json keeps 6 significant digits); "
                    "list each rate point once, differing within 6 significant digits"
                )
            seen[key] = rp
