"""Dense motion for the video proxy: OpenCV DIS flow on source luma (cached), resize, warp.

METHOD §4: the proxy predicts B(t) by warping the previous reconstructed bottleneck with a
dense *backward* flow computed on the *source* frames, so the warp is a fixed linear map that
does not depend on the networks. The paper's UFlow pipeline is not released; DIS (Kroeger et
al. 2016, ``cv2.DISOpticalFlow``, preset ``medium``) on 8-bit luma stands in for it.

Conventions: ``flow[t-1]`` is ``(dx, dy)`` in pixels with S(t)[y, x] ≈ S(t-1)[y + dy, x + dx],
channels first (``(T-1) x 2 x H x W``). :func:`warp` samples bilinearly with zeros outside.
A bottleneck at another resolution needs :func:`resize_flow`, which scales the vectors as well
as the field: the release resized without dividing by the factor, so low-res references were
sampled about twice too far and every block fell back to intra (METHOD §4, low-res bug).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

DIS_PRESET = "medium"
_PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}  # cv2.DISOPTICAL_FLOW_PRESET_*


def default_cache_dir() -> Path:
    """``$SANDWICH_CACHE/flow``, else ``~/.cache/sandwich-bench/flow``."""
    root = os.environ.get("SANDWICH_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "sandwich-bench") / "flow"


def to_uint8(luma: np.ndarray, bitdepth: int) -> np.ndarray:
    """DIS takes 8-bit images: higher depths are rounded down to 8 bits."""
    if bitdepth == 8:
        return np.ascontiguousarray(luma, dtype=np.uint8)
    return np.clip(np.rint(luma / 2.0 ** (bitdepth - 8)), 0, 255).astype(np.uint8)


def backward_flow(cur: np.ndarray, prev: np.ndarray) -> np.ndarray:
    """DIS flow ``2 x H x W`` (float32) with cur[y, x] ≈ prev[y + dy, x + dx]; uint8 inputs."""
    import cv2

    dis = cv2.DISOpticalFlow.create(_PRESETS[DIS_PRESET])
    # calc(I0, I1): I0(x) ≈ I1(x + flow(x)); cv2's stubs type the output array as required, OpenCV takes None
    flow = dis.calc(cur, prev, None)  # type: ignore[call-overload]
    return np.ascontiguousarray(flow.transpose(2, 0, 1))


def _cache_key(luma: np.ndarray) -> str:
    import cv2

    h = hashlib.sha256(f"dis-{DIS_PRESET}-cv{cv2.__version__}-{luma.shape}".encode())
    h.update(luma.tobytes())
    return h.hexdigest()[:32]


def sequence_flow(luma: np.ndarray, bitdepth: int = 8, cache_dir: Path | None = None) -> np.ndarray:
    """Backward flows ``(T-1) x 2 x H x W`` of a ``T x H x W`` luma sequence, cached on disk.

    The cache file is named by a hash of the 8-bit frames, the DIS preset and the OpenCV
    version, and written to a temporary name first, so a killed run never leaves a half file.
    """
    frames = to_uint8(np.asarray(luma), bitdepth)
    if frames.ndim != 3 or frames.shape[0] < 2:
        raise ValueError(f"need T x H x W luma with T >= 2, got shape {frames.shape}")
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"{_cache_key(frames)}.npy"
    if path.is_file():
        return np.load(path)
    flow = np.stack([backward_flow(frames[t], frames[t - 1]) for t in range(1, len(frames))])
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as tmp:
        np.save(tmp, flow)
    os.replace(tmp.name, path)
    return flow


def resize_flow(flow: Tensor, size: tuple[int, int]) -> Tensor:
    """Resample a ``... x 2 x H x W`` flow to ``size`` and scale dx by w/W, dy by h/H.

    Pixel centres map as x' = (x + ½)·w/W - ½, so a displacement scales by the same factor.
    Downscaling averages the field (antialiased bilinear).
    """
    lead, (hh, ww) = flow.shape[:-3], flow.shape[-2:]
    h, w = size
    if (h, w) == (hh, ww):
        return flow
    x = flow.reshape(-1, 2, hh, ww)
    x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=h < hh or w < ww)
    scale = torch.tensor([w / ww, h / hh], dtype=x.dtype, device=x.device).view(1, 2, 1, 1)
    return (x * scale).reshape(*lead, 2, h, w)


def warp(x: Tensor, flow: Tensor) -> Tensor:
    """out[y, x] = in[y + dy, x + dx] for ``N x C x H x W`` and ``N x 2 x H x W``; bilinear,
    zeros outside the frame; differentiable in ``x`` (the flow is a constant here)."""
    n, _, h, w = x.shape
    if flow.shape != (n, 2, h, w):
        raise ValueError(
            f"flow must be {(n, 2, h, w)} for input {tuple(x.shape)}, got "
            f"{tuple(flow.shape)}; resize it with resize_flow"
        )
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=x.dtype, device=x.device), torch.arange(w, dtype=x.dtype, device=x.device), indexing="ij"
    )
    gx = (xs + flow[:, 0]) * (2.0 / max(w - 1, 1)) - 1.0
    gy = (ys + flow[:, 1]) * (2.0 / max(h - 1, 1)) - 1.0
    grid = torch.stack([gx, gy], dim=-1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
