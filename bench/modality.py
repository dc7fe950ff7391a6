"""What differs between an image experiment and a video one, in one small object each.

``bench.plan.build_plan`` is one builder; it asks the modality which scenarios and metrics apply,
how the data sets resolve and overlap, and how an eval item becomes a :class:`bench.source.Source`.
Everything else (methods, cells, metrics, summary) is shared.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

import numpy as np

from bench.config import ExperimentConfig
from bench.data import Dataset, Item, check_no_overlap, resolve_dataset
from bench.errors import ConfigError
from bench.metrics import check_metric
from bench.registry import UnknownNameError
from bench.scenarios import SCENARIOS, Scenario
from bench.source import Source
from bench.video.dataset import VideoItem, check_no_video_overlap, resolve_video_dataset


class Modality(ABC):
    name: Literal["image", "video"]  # also the metric registry's modality
    rate_keys: tuple[str, ...]  # every rate column a row carries; the first is the RD axis

    @abstractmethod
    def scenario_names(self) -> list[str]: ...

    @abstractmethod
    def datasets(self, cfg: ExperimentConfig) -> tuple[Dataset, Dataset | None, Dataset | None]:
        """(eval, train, train stills), resolved and checked for train/eval overlap."""

    @abstractmethod
    def source(self, item: Item, scenario: Scenario, cfg: ExperimentConfig) -> Source:
        """The eval item as the methods code it."""

    def check_metrics(self, cfg: ExperimentConfig) -> None:
        for j, key in enumerate(cfg.evaluation.metrics):
            try:
                check_metric(key, self.name)
            except UnknownNameError as exc:
                raise ConfigError(f"evaluation.metrics.{j}: {exc}") from None


class ImageModality(Modality):
    name, rate_keys = "image", ("bpp",)

    def scenario_names(self) -> list[str]:
        return SCENARIOS.names()

    def datasets(self, cfg: ExperimentConfig) -> tuple[Dataset, Dataset | None, Dataset | None]:
        eval_set = resolve_dataset(cfg.data.eval, "data.eval")
        train_set = resolve_dataset(cfg.data.train, "data.train") if cfg.data.train else None
        if train_set is not None:
            check_no_overlap(train_set, eval_set)
        return eval_set, train_set, None

    def source(self, item: Item, scenario: Scenario, cfg: ExperimentConfig) -> Source:
        img, depth = item.load_with_depth()
        image = centre_crop(scenario.to_source(img, item.name), cfg.data.eval.crop)
        # a shallower image is held on the scenario's scale and measured at its own depth
        measured = depth if depth is not None and 8 < depth < scenario.bitdepth else None
        return Source.still(item.name, image, scenario.bitdepth, measured)


class VideoModality(Modality):
    """Eval items are clips (8-bit RGB frames at their real frame rate); rates are kbps, bpp beside."""

    name, rate_keys = "video", ("kbps", "bpp")
    SCENARIOS = ("rgb", "rgb444", "gray400", "lowres", "perceptual")

    def scenario_names(self) -> list[str]:
        return [n for n in SCENARIOS.names() if n in self.SCENARIOS]

    def datasets(self, cfg: ExperimentConfig) -> tuple[Dataset, Dataset | None, Dataset | None]:
        eval_set = resolve_video_dataset(cfg.data.eval, "data.eval")
        train_cfg = cfg.data.train
        train_set = None
        if train_cfg is not None:
            train_set = (
                resolve_video_dataset(train_cfg, "data.train")
                if train_cfg.video is not None
                else resolve_dataset(train_cfg, "data.train")
            )
        stills = resolve_dataset(cfg.data.train_stills, "data.train_stills") if cfg.data.train_stills else None
        check_no_video_overlap(eval_set, *(d for d in (train_set, stills) if d is not None))
        return eval_set, train_set, stills

    def source(self, item: Item, scenario: Scenario, cfg: ExperimentConfig) -> Source:
        assert isinstance(item, VideoItem)
        return Source(item.name, item.load(), 8, item.fps)


def modality_of(cfg: ExperimentConfig) -> Modality:
    return VideoModality() if cfg.data.eval.video is not None else ImageModality()


def centre_crop(img: np.ndarray, crop: tuple[int, int] | None) -> np.ndarray:
    """The centred ``crop`` = (h, w) of an image (each side kept whole where it is smaller)."""
    if crop is None:
        return img
    h, w = min(crop[0], img.shape[0]), min(crop[1], img.shape[1])
    y, x = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
    return np.ascontiguousarray(img[y : y + h, x : x + w])
