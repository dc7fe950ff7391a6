"""``build_plan`` for experiments whose eval data are video clips (``data.eval.video``).

Same promise as the image plan: every name, option and file is checked, and every eval clip is
decoded, before anything is written. In a video experiment ``kind: codec`` names a video codec
(``x264``, ``x265``, ``av1``: low-delay P at constant QP, rate points are QPs) and ``kind:
sandwich`` is the per-frame sandwich trained through the video proxy.
"""
from __future__ import annotations

from bench.builders import BuildContext, build_methods
from bench.config import CodecMethodConfig, ExperimentConfig, ReferenceMethodConfig, SandwichMethodConfig
from bench.data import Dataset, expand_path, resolve_dataset
from bench.errors import BenchError, ConfigError, DataError
from bench.method import Method
from bench.metrics import check_metric
from bench.plan import Plan
from bench.published import PublishedCurve
from bench.registry import UnknownNameError
from bench.scenarios import SCENARIOS, Scenario
from bench.video.dataset import check_no_video_overlap, resolve_video_dataset

VIDEO_SCENARIOS = ("rgb", "rgb444", "gray400", "lowres", "perceptual")


def _scenario(cfg: ExperimentConfig) -> Scenario:
    if cfg.scenario not in VIDEO_SCENARIOS:
        raise ConfigError(f"scenario: {cfg.scenario!r} is not for video (8-bit RGB clips); choose from: "
                          f"{', '.join(VIDEO_SCENARIOS)}")
    try:
        return SCENARIOS.get(cfg.scenario)
    except UnknownNameError as exc:
        raise ConfigError(f"scenario: {exc}") from None


def build_video_plan(cfg: ExperimentConfig) -> Plan:
    """Resolve and check a video experiment; decode every eval clip to RGB frames."""
    scenario = _scenario(cfg)
    for j, key in enumerate(cfg.evaluation.metrics):
        try:
            check_metric(key, "video")
        except UnknownNameError as exc:
            raise ConfigError(f"evaluation.metrics.{j}: {exc}") from None
    references = [PublishedCurve(m, expand_path(m.path)) for m in cfg.methods if isinstance(m, ReferenceMethodConfig)]
    # codec methods first: their options and QPs need no data, so a bad one fails before any clip is read
    early = BuildContext(cfg, scenario, video=True)
    codec_methods = {i: build_methods(i, m, early) for i, m in enumerate(cfg.methods)
                     if isinstance(m, CodecMethodConfig)}
    eval_set = resolve_video_dataset(cfg.data.eval, "data.eval")
    train_cfg = cfg.data.train
    train_set = None
    if train_cfg is not None:
        train_set = (resolve_video_dataset(train_cfg, "data.train") if train_cfg.video is not None
                     else resolve_dataset(train_cfg, "data.train"))
    stills = resolve_dataset(cfg.data.train_stills, "data.train_stills") if cfg.data.train_stills else None
    check_no_video_overlap(eval_set, *(d for d in (train_set, stills) if d is not None))
    learned = [m.name for m in cfg.methods if isinstance(m, SandwichMethodConfig)]
    if learned and train_set is None and stills is None:
        raise ConfigError(f"data.train: methods {', '.join(learned)} are trained, so the experiment needs training "
                          "clips (data.train: {video: [...]}) or stills (data.train_stills: {set: bsds500})")
    sources = {}
    for it in eval_set.items:
        try:
            sources[it.name] = it.load()
        except BenchError:
            raise
        except Exception as exc:  # anything else while decoding is still a bad input file
            raise DataError(f"cannot use {it.path}: {exc}") from None
    ctx = BuildContext(cfg, scenario, video=True, eval_set=eval_set, stills=stills)
    methods = [built for i, m in enumerate(cfg.methods) if not isinstance(m, ReferenceMethodConfig)
               for built in codec_methods.get(i) or build_methods(i, m, ctx)]
    return Plan(cfg, scenario, eval_set, train_set, methods, references, sources, video=True, stills_set=stills)
