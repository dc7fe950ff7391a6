"""Video datasets: clips as items (one sequence each), their manifests, and the train/eval split.

A clip item is identified by the content of its whole file (or of all frames of a PNG folder), not
by the frame window used, so the same sequence can never be evaluated and trained on, whatever
frames either side takes. A PNG folder also lists every frame's sha256 (``parts``): a still image
copied out of an eval sequence is caught as overlap too.

``load()`` gives ``T x H x W x 3`` uint8 RGB: PNG frames as stored; ``.y4m``/``.yuv`` converted with
the clip's own matrix and range (``bench.video.Clip.to_rgb``), deeper clips rounded to 8 bits.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from bench.config import DatasetConfig
from bench.data import Dataset, Item, expand_path, sha256_file
from bench.errors import DataError
from bench.image_header import check_pixels
from bench.video.io import parse_yuv_name, read_png_frames, read_video


@dataclass(frozen=True)
class VideoItem(Item):
    """One clip: ``frames`` frames from ``start`` at ``fps``, optionally a centred ``crop`` (h, w)."""

    fps: Fraction = Fraction(25)
    frames: int | None = None
    start: int = 0
    crop: tuple[int, int] | None = None
    parts: tuple[str, ...] = ()

    def load(self) -> np.ndarray:
        if self.path.is_dir():
            rgb = read_png_frames(self.path, start=self.start, frames=self.frames)
            if rgb.dtype != np.uint8 or rgb.shape[3] != 3:
                raise DataError(
                    f"{self.path}: video frames must be 8-bit RGB PNGs, got {rgb.dtype} with {rgb.shape[3]} channel(s)"
                )
        else:
            clip = read_video(self.path, fps=self.fps, start=self.start, frames=self.frames)
            rgb = clip.to_rgb()
            if clip.bitdepth != 8:  # the codecs and nets here take 8-bit sources
                rgb = np.clip(np.rint(rgb / 2.0 ** (clip.bitdepth - 8)), 0, 255).astype(np.uint8)
            if rgb.shape[3] == 1:
                rgb = np.repeat(rgb, 3, axis=3)
        return centre_crop(rgb, self.crop)


def centre_crop(rgb: np.ndarray, crop: tuple[int, int] | None) -> np.ndarray:
    """The centred ``crop`` = (h, w) of every frame, each side kept whole where the clip is smaller (one
    crop serves an evaluation set of several sizes, as for images); offsets even, for 4:2:0 and ↓2."""
    if crop is None:
        return np.ascontiguousarray(rgb)
    h, w = min(crop[0], rgb.shape[1]), min(crop[1], rgb.shape[2])
    top, left = (rgb.shape[1] - h) // 2 // 2 * 2, (rgb.shape[2] - w) // 2 // 2 * 2
    return np.ascontiguousarray(rgb[:, top : top + h, left : left + w])


def clip_fps(path: Path, configured: float | None) -> Fraction:
    """The real frame rate: the file's own (y4m header, raw name), else the configured one (a PNG
    folder, a raw file whose name has no rate): one fps serves a set of clips at their own rates."""
    if path.suffix.lower() == ".y4m":
        return read_video(path, frames=1).fps
    if path.suffix.lower() == ".yuv":
        named = parse_yuv_name(path).fps
        if named is not None:
            return named
    if configured is not None:
        return Fraction(configured).limit_denominator(1001 * 1000)
    raise DataError(f"{path}: the clip does not say its frame rate (needed for kbps); set 'fps' in the dataset config")


def _content(path: Path) -> tuple[str, tuple[str, ...]]:
    """sha256 of the whole clip, and per-frame sha256s for a PNG folder."""
    if not path.is_dir():
        return sha256_file(path), ()
    frames = sorted(path.glob("*.png"))
    if not frames:
        raise DataError(f"no PNG frames in {path}")
    parts = tuple(sha256_file(f) for f in frames)
    return hashlib.sha256("".join(parts).encode()).hexdigest(), parts


def _check_frame_size(path: Path, max_pixels: int, key: str) -> None:
    """Frame size from the y4m header, the raw file's name or each PNG's header, before any decoding."""
    if path.is_dir():
        for frame in sorted(path.glob("*.png")):
            check_pixels(frame, max_pixels, key)
    elif path.suffix.lower() == ".yuv":
        named = parse_yuv_name(path)
        check_pixels(path, max_pixels, key, (named.width, named.height))
    elif path.suffix.lower() == ".y4m":
        check_pixels(path, max_pixels, key)


def resolve_video_dataset(cfg: DatasetConfig, where: str) -> Dataset:
    """One item per clip, in the order given; each clip must exist and hold the frames asked for."""
    assert cfg.video is not None
    paths = [expand_path(p) for p in cfg.video]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise DataError(f"{where}.video: not found: {', '.join(missing)}")
    items = []
    for path in paths[: cfg.max_items]:
        _check_frame_size(path, cfg.max_pixels, f"{where}.max_pixels")
        sha, parts = _content(path)
        name = path.name.removesuffix(path.suffix) if path.is_file() else path.name
        items.append(VideoItem(name, path, sha, clip_fps(path, cfg.fps), cfg.frames, cfg.start or 0, cfg.crop, parts))
    names = [it.name for it in items]
    if len(set(names)) != len(names):
        raise DataError(f"{where}.video: two clips share a name; names must be unique")
    root = Path(os.path.commonpath([str(p if p.is_dir() else p.parent) for p in paths]))
    return Dataset(items[0].name if len(items) == 1 else root.name, root, tuple(items))


def content_hashes(items: tuple[Item, ...]) -> dict[str, str]:
    """sha256 -> item name, for every clip and every frame a clip is made of."""
    out = {}
    for it in items:
        out[it.sha256] = it.name
        out.update(dict.fromkeys(getattr(it, "parts", ()), f"{it.name} (a frame)"))
    return out


def check_no_video_overlap(evaluation: Dataset, *train_sets: Dataset) -> None:
    """Refuse training on any eval sequence, or on a frame of one, by content."""
    held_out = content_hashes(evaluation.items)
    for train in train_sets:
        seen = content_hashes(train.items)
        found = {held_out[h] for h in set(seen) & set(held_out)}
        shared = sorted(
            n
            for n in found  # a whole clip found: do not list its frames as well
            if not n.endswith(" (a frame)") or n.removesuffix(" (a frame)") not in found
        )
        if shared:
            raise DataError(
                f"the eval sequence(s) {', '.join(shared)} appear in the training data "
                f"({train.name}); train on other clips or stills"
            )
