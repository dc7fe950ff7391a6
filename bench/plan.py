"""Check a validated config against what exists (codecs, metrics, data) and build the methods.

Everything here runs before any encoding, so a wrong name, a bad codec option, a missing data
folder or an unreadable image stops the run with one line and leaves nothing behind.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from baselines.conventional import ConventionalCodec
from baselines.reference import PublishedCurve
from bench.codecs import CODECS
from bench.config import CodecMethodConfig, ExperimentConfig, ReferenceMethodConfig
from bench.data import Dataset, check_no_overlap, expand_path, resolve_dataset
from bench.errors import BenchError, ConfigError, DataError
from bench.method import Method
from bench.metrics import METRICS
from bench.registry import UnknownNameError
from bench.scenarios import SCENARIOS, Scenario


@dataclass
class Plan:
    cfg: ExperimentConfig
    scenario: Scenario
    eval_set: Dataset
    train_set: Dataset | None
    methods: list[Method]
    references: list[PublishedCurve]
    sources: dict[str, np.ndarray]

    @property
    def metrics(self) -> list[str]:
        return list(self.cfg.evaluation.metrics)


def _build_method(i: int, m: CodecMethodConfig) -> Method:
    where = f"methods.{i} ({m.name})"
    if m.codec not in CODECS:
        raise ConfigError(f"{where}.codec: unknown codec {m.codec!r}; choose from: {', '.join(CODECS.names())}")
    try:
        return ConventionalCodec(m)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}.options: {exc}") from None


def build_plan(cfg: ExperimentConfig) -> Plan:
    """Resolve every name and file the experiment mentions; load and check the eval sources."""
    try:
        scenario = SCENARIOS.get(cfg.scenario)
    except UnknownNameError as exc:
        raise ConfigError(f"scenario: {exc}") from None
    for j, key in enumerate(cfg.evaluation.metrics):
        if key not in METRICS:
            raise ConfigError(f"evaluation.metrics.{j}: unknown metric {key!r}; choose from: {', '.join(METRICS.names())}")
    methods: list[Method] = []
    references: list[PublishedCurve] = []
    for i, m in enumerate(cfg.methods):
        if isinstance(m, ReferenceMethodConfig):
            references.append(PublishedCurve(m, expand_path(m.path)))
        else:
            methods.append(_build_method(i, m))
    eval_set = resolve_dataset(cfg.data.eval, "data.eval")
    train_set = resolve_dataset(cfg.data.train, "data.train") if cfg.data.train else None
    if train_set is not None:
        check_no_overlap(train_set, eval_set)
    sources = {}
    for it in eval_set.items:
        try:
            sources[it.name] = scenario.to_source(it.load(), it.name)
        except BenchError:
            raise
        except Exception as exc:  # anything else while decoding is still a bad input file
            raise DataError(f"cannot use {it.path}: {exc}") from None
    return Plan(cfg, scenario, eval_set, train_set, methods, references, sources)
