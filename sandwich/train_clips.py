"""Training clips for the video sandwich: windows of real clips, and stills moved by a synthetic camera.

Each sample is ``T`` frames of a ``crop x crop`` window (``T x crop x crop x 3`` uint8) with the
backward flows the video proxy needs (``(T-1) x 2 x crop x crop``, METHOD §4 sign: S(t)[y, x] ≈
S(t-1)[y + dy, x + dx]):

- **real clips**: a random run of ``T`` consecutive frames at a random position (same window in
  every frame), randomly mirrored; the flow is DIS on the whole clip's luma (computed once, cached by
  ``proxies.flow.sequence_flow``) cut to the same window.
- **stills with synthetic camera motion** (there are few short training videos): a smooth camera path
  over a still image, centre c(t) = c0 + v·t + a·t²/2 with v uniform in ±``max_shift`` px/frame and a
  small acceleration, and zoom z(t) = (1 + r)^t with r uniform in ±``max_zoom``; frames are rendered
  with bicubic interpolation (``cv2.warpAffine``). The camera is known, so the flow is exact:
  p' = o + z(t-1)·(c(t) - c(t-1) + (p - o)/z(t)), flow = p' - p (o = window centre).
  No parallax, occlusion or object motion: the real clips supply those.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from bench.colour import BT601_LUMA_PRINTED
from proxies.flow import sequence_flow


def luma8(frames: np.ndarray) -> np.ndarray:
    """BT.601 full-range luma of ``... x 3`` uint8 RGB as uint8 (what DIS runs on)."""
    return np.clip(np.rint(frames.astype(np.float64) @ BT601_LUMA_PRINTED), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class CameraPath:
    """Per-frame window centres (x, y) in still coordinates and zoom factors."""

    centres: np.ndarray  # T x 2
    zooms: np.ndarray  # T


def camera_path(
    size: tuple[int, int], crop: int, frames: int, max_shift: float, max_zoom: float, rng: np.random.Generator
) -> CameraPath:
    """A random smooth path whose every window stays inside an ``H x W`` still (no motion if none fits)."""
    h, w = size
    t = np.arange(frames, dtype=np.float64)
    v = rng.uniform(-max_shift, max_shift, 2)
    a = rng.uniform(-1, 1, 2) * max_shift / max(frames, 1)
    zooms = (1 + rng.uniform(-max_zoom, max_zoom)) ** t
    offsets = v[None] * t[:, None] + 0.5 * a[None] * t[:, None] ** 2
    half = (crop - 1) / 2 / zooms + 1  # half window size in still pixels, plus one for the filter
    lo = np.max(half[:, None] - offsets, axis=0)
    hi = np.array([w - 1, h - 1]) - np.max(half[:, None] + offsets, axis=0)
    if np.any(lo > hi):
        return (
            camera_path(size, crop, frames, 0.0, 0.0, rng)
            if max_shift or max_zoom
            else CameraPath(np.full((frames, 2), [(w - 1) / 2, (h - 1) / 2]), np.ones(frames))
        )
    c0 = rng.uniform(lo, hi)
    return CameraPath(c0[None] + offsets, zooms)


def render(still: np.ndarray, path: CameraPath, crop: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames ``T x crop x crop x 3`` along ``path`` and their exact backward flows."""
    o = (crop - 1) / 2
    frames = []
    for (cx, cy), z in zip(path.centres, path.zooms, strict=True):
        m = np.array([[1 / z, 0, cx - o / z], [0, 1 / z, cy - o / z]])  # output pixel -> still pixel
        frames.append(
            cv2.warpAffine(
                still, m, (crop, crop), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT101
            )
        )
    ys, xs = np.mgrid[0:crop, 0:crop].astype(np.float64)
    flows = []
    for k in range(1, len(frames)):
        (cx, cy), (px, py) = path.centres[k], path.centres[k - 1]
        z, zp = path.zooms[k], path.zooms[k - 1]
        fx = o + zp * (cx - px + (xs - o) / z) - xs
        fy = o + zp * (cy - py + (ys - o) / z) - ys
        flows.append(np.stack([fx, fy]))
    return np.stack(frames), np.stack(flows).astype(np.float32)


class ClipSampler:
    """Random training clips from real clips and stills; see the module docstring."""

    def __init__(
        self,
        clips: list[np.ndarray],
        stills: list[np.ndarray],
        *,
        frames: int,
        crop: int,
        still_fraction: float | None = None,
        max_shift: float = 3.0,
        max_zoom: float = 0.02,
    ) -> None:
        short = [c.shape for c in clips if c.shape[0] < frames or min(c.shape[1:3]) < crop]
        if short:
            raise ValueError(
                f"training clips shaped {short} (T x H x W x C) are shorter than video.frames={frames} "
                f"or smaller than train.crop={crop}"
            )
        small = [s.shape for s in stills if min(s.shape[:2]) < crop]
        if small:
            raise ValueError(f"stills shaped {small} are smaller than train.crop={crop}")
        if not clips and not stills:
            raise ValueError("no training clips and no stills")
        default = 0.5 if clips and stills else float(not clips)
        self.still_fraction = default if still_fraction is None else still_fraction
        if (self.still_fraction > 0 and not stills) or (self.still_fraction < 1 and not clips):
            raise ValueError(
                f"still_fraction {self.still_fraction:g} needs "
                f"{'stills (data.train_stills)' if not stills else 'training clips (data.train.video)'}"
            )
        self.clips, self.stills = clips, stills
        self.flows = [sequence_flow(luma8(c)) for c in clips]
        self.frames, self.crop = frames, crop
        self.max_shift, self.max_zoom = max_shift, max_zoom

    def describe(self) -> str:
        """What the training data are, for the training run's tags."""
        return (
            f"{len(self.clips)} real clip(s) (windows of {self.frames} frames, DIS flow) + {len(self.stills)} "
            f"still(s) with synthetic camera motion (translation <= {self.max_shift:g} px/frame with "
            f"acceleration, zoom <= {100 * self.max_zoom:g}%/frame, exact flow); share of stills "
            f"{self.still_fraction:g}"
        )

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One clip ``T x crop x crop x 3`` and its flows ``(T-1) x 2 x crop x crop``."""
        c, t = self.crop, self.frames
        if rng.random() < self.still_fraction:
            still = self.stills[int(rng.integers(len(self.stills)))]
            frames, flow = render(still, camera_path(still.shape[:2], c, t, self.max_shift, self.max_zoom, rng), c)
        else:
            i = int(rng.integers(len(self.clips)))
            clip, full = self.clips[i], self.flows[i]
            t0 = int(rng.integers(clip.shape[0] - t + 1))
            y = int(rng.integers(clip.shape[1] - c + 1))
            x = int(rng.integers(clip.shape[2] - c + 1))
            frames = clip[t0 : t0 + t, y : y + c, x : x + c]
            flow = full[t0 : t0 + t - 1, :, y : y + c, x : x + c]
        if rng.random() < 0.5:  # mirror: the horizontal flow component changes sign
            frames, flow = frames[:, :, ::-1], flow[..., ::-1] * np.array([-1, 1], np.float32)[None, :, None, None]
        return np.ascontiguousarray(frames), np.ascontiguousarray(flow)

    def batch(self, n: int, rng: np.random.Generator, device: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``N x T x 3 x crop x crop`` float frames (0..255) and ``N x (T-1) x 2 x crop x crop`` flows."""
        pairs = [self.sample(rng) for _ in range(n)]
        s = torch.from_numpy(np.stack([p[0] for p in pairs]).astype(np.float32)).permute(0, 1, 4, 2, 3)
        flow = torch.from_numpy(np.stack([p[1] for p in pairs]))
        return s.contiguous().to(device), flow.to(device)
