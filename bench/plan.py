"""Check a validated config against what exists (codecs, metrics, data) and build the methods.

Everything here runs before any encoding, so a wrong name, a bad codec option, a missing data
folder or an unreadable image stops the run with one line and leaves nothing behind.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench.builders import BuildContext, build_methods
from bench.config import (CodecMethodConfig, CompressAIMethodConfig, ExperimentConfig, ReferenceMethodConfig,
                          SandwichMethodConfig)
from bench.data import Dataset, check_no_overlap, expand_path, resolve_dataset
from bench.errors import BenchError, ConfigError, DataError
from bench.method import Method
from bench.metrics import check_metric
from bench.registry import UnknownNameError
from bench.published import PublishedCurve
from bench.results import rate_key
from bench.scenarios import SCENARIOS, Scenario


@dataclass
class Plan:
    cfg: ExperimentConfig
    scenario: Scenario
    eval_set: Dataset
    train_set: Dataset | None
    methods: list[Method]
    references: list[PublishedCurve]
    sources: dict[str, np.ndarray]  # video: T x H x W x 3 frames per clip
    video: bool = False
    stills_set: Dataset | None = None  # video: stills a sandwich trains on with synthetic motion
    depths: dict[str, int] = field(default_factory=dict)  # items shallower than the scenario: true bit depth

    @property
    def metrics(self) -> list[str]:
        return list(self.cfg.evaluation.metrics)

    @property
    def rate_key(self) -> str:
        """The rate axis: kbps for video (real frame rate), bpp for images."""
        return "kbps" if self.video else "bpp"

    @property
    def rate_keys(self) -> tuple[str, ...]:
        """Every rate column the rows carry (video keeps bpp per frame beside kbps)."""
        return ("kbps", "bpp") if self.video else ("bpp",)


def build_plan(cfg: ExperimentConfig) -> Plan:
    """Resolve every name and file the experiment mentions; load and check the eval sources."""
    if cfg.data.eval.video is not None:
        from bench.video.plan import build_video_plan

        plan = build_video_plan(cfg)
    else:
        plan = _build_image_plan(cfg)
    check_cell_keys(cfg, plan.methods)
    return plan


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
                alike = [g for g in mc.lambdas if f"{mc.name}.g{g:g}" == m.name]
                if len(alike) > 1:
                    a, b = alike[:2]
                    same = f"{a!r} is listed twice" if a == b else f"{a!r} and {b!r} both name the member {m.name!r}"
                    raise ConfigError(f"{where}.lambdas: {same} (γ keeps 6 significant digits); list each λ once, "
                                      "differing within 6 significant digits")
            raise ConfigError(f"{where}: the name {m.name!r} is taken by another method; rename one")
        names.add(m.name)
        if isinstance(mc, SandwichMethodConfig) and mc.wraps is not None:
            continue  # the wrapped codec's rate points, checked on that method
        field = "step_factors" if isinstance(mc, SandwichMethodConfig) else (
            "qualities" if isinstance(mc, CompressAIMethodConfig) else "rate_points")
        seen: dict[str, float] = {}
        for rp in m.rate_points():
            key = rate_key(rp)
            if key in seen:
                same = f"{rp!r} is listed twice" if seen[key] == rp else f"{seen[key]!r} and {rp!r} both file as {key!r}"
                raise ConfigError(f"{where}.{field}: {same} (cells/{m.name}/{key}.json keeps 6 significant digits); "
                                  "list each rate point once, differing within 6 significant digits")
            seen[key] = rp


def _build_image_plan(cfg: ExperimentConfig) -> Plan:
    """The image experiment's plan (``bench.video.plan`` builds video ones)."""
    try:
        scenario = SCENARIOS.get(cfg.scenario)
    except UnknownNameError as exc:
        raise ConfigError(f"scenario: {exc}") from None
    for j, key in enumerate(cfg.evaluation.metrics):
        try:
            check_metric(key, "image")
        except UnknownNameError as exc:
            raise ConfigError(f"evaluation.metrics.{j}: {exc}") from None
    references = [PublishedCurve(m, expand_path(m.path)) for m in cfg.methods
                  if isinstance(m, ReferenceMethodConfig)]
    # codec methods first: their options and rate points need no data, so a bad one fails before any is read
    early = BuildContext(cfg, scenario, video=False)
    codec_methods = {i: build_methods(i, m, early) for i, m in enumerate(cfg.methods)
                     if isinstance(m, CodecMethodConfig)}
    eval_set = resolve_dataset(cfg.data.eval, "data.eval")
    train_set = resolve_dataset(cfg.data.train, "data.train") if cfg.data.train else None
    if train_set is not None:
        check_no_overlap(train_set, eval_set)
    learned = [m.name for m in cfg.methods if isinstance(m, SandwichMethodConfig)
               or (isinstance(m, CompressAIMethodConfig) and m.weights == "trained_here"
                   and not (m.train and m.train.data))]
    if learned and train_set is None:
        raise ConfigError(f"data.train: methods {', '.join(learned)} are trained, so the experiment needs a "
                          "train set (e.g. data.train: {set: bsds500})")
    sources, depths = {}, {}
    for it in eval_set.items:
        try:
            img, depth = it.load_with_depth()
            sources[it.name] = centre_crop(scenario.to_source(img, it.name), cfg.data.eval.crop)
        except BenchError:
            raise
        except Exception as exc:  # anything else while decoding is still a bad input file
            raise DataError(f"cannot use {it.path}: {exc}") from None
        if depth is not None and 8 < depth < scenario.bitdepth:
            depths[it.name] = depth  # held on the scenario's scale, measured at its own depth
    channels = {src.shape[2] for src in sources.values()}
    if len(channels) != 1:
        raise DataError(f"data.eval: items have different channel counts {sorted(channels)}; use one kind of image")
    ctx = BuildContext(cfg, scenario, video=False, channels=channels.pop(), eval_set=eval_set)
    methods = [built for i, m in enumerate(cfg.methods) if not isinstance(m, ReferenceMethodConfig)
               for built in codec_methods.get(i) or build_methods(i, m, ctx)]
    return Plan(cfg, scenario, eval_set, train_set, methods, references, sources, depths=depths)


def centre_crop(img: np.ndarray, crop: tuple[int, int] | None) -> np.ndarray:
    """The centred ``crop`` = (h, w) of an image (each side kept whole where it is smaller)."""
    if crop is None:
        return img
    h, w = min(crop[0], img.shape[0]), min(crop[1], img.shape[1])
    y, x = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
    return np.ascontiguousarray(img[y:y + h, x:x + w])
