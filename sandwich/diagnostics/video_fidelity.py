"""How well the video proxy's rate tracks real x265 (4:0:0, low-delay P) over clips and QPs.

Each clip's 8-bit luma goes through x265 (``bench.codecs.low_delay``) at each QP and through
:class:`proxies.video_proxy.VideoProxy` at Δ = 2^((QP-4)/6) for I and P frames (HEVC's
quantiser step, ``proxies.calibration.qp_to_step``), with DIS flow from the same luma. Nothing
is trained: the bottleneck is the source itself. Reported per rate model:

- ``pearson_log``: correlation of log proxy kbps with log x265 kbps over every (clip, QP);
- ``ratio``: proxy / x265 kbps (median, range): the uncalibrated offset;
- ``calibrated_error``: one scale per clip fitted at the middle QP (as the image rate proxy is
  calibrated per image), then the mean and max |relative error| at the other QPs.

Every video sandwich run reports the same figures for its trained bottlenecks on the evaluation
clips (``bench.proxy_fidelity``: ``proxy_fidelity`` in ``summary.json``).

Run: ``bench proxy video-fidelity [--frames 10] [--qps 22,27,32,37,42] [--json]``
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from bench.codecs import CODECS, kbps
from bench.metrics.psnr import plane_psnr
from bench.paths import data_root
from bench.proxy_fidelity import summarise
from bench.video import read_png_frames, read_video
from bench.video.clip import clip_from_rgb
from proxies.calibration import qp_to_step
from proxies.flow import sequence_flow, to_uint8
from proxies.video_proxy import VideoProxy

# name -> (file under data/video, frame rate when the name has none)
CLIPS = {
    "BasketballPass": ("BasketballPass_416x240_100f", 50),
    "foreman": ("foreman_176x144_30fps.yuv", None),
    "CiscoVT2people": ("CiscoVT2people_320x192_12fps.yuv", None),
    "park_joy": ("park_joy_420_720p50_frm0to9_480x270.y4m", None),
    "sparks": ("sparks_480x270_10bit.yuv", 60),
}
RATES = ("jpeg", "hevc", "laplacian", "gaussian")


def load_luma(name: str, frames: int) -> tuple[np.ndarray, float, str]:
    """8-bit luma ``T x H x W`` (at most ``frames``), the fps, and how it was made."""
    rel, fps = CLIPS[name]
    path = data_root() / "video" / rel
    if path.is_dir():  # RGB frames: BT.601 limited-range luma, as a YUV source would hold
        assert fps is not None, f"CLIPS[{name!r}]: a folder of frames needs its frame rate"
        clip = clip_from_rgb(read_png_frames(path, frames=frames), fps=fps, chroma="400", source=path.name)
    else:
        clip = read_video(path, fps=fps)
        clip = clip.take(min(frames, clip.n_frames))
    luma = to_uint8(clip.planes[0], clip.bitdepth)
    note = clip.colour_source + ("" if clip.bitdepth == 8 else f"; {clip.bitdepth}-bit rounded to 8")
    return luma, float(clip.fps), note


def measure(luma: np.ndarray, fps: float, qps: list[int], rates: list[str]) -> list[dict]:
    """One row per QP: x265 kbps and PSNR-Y, and the proxy's kbps / PSNR-Y per rate model."""
    codec = CODECS.build("x265", chroma="400")
    flow = torch.from_numpy(sequence_flow(luma))[None]
    x = torch.from_numpy(luma.astype(np.float32))[None, :, None]
    rows = []
    for qp in qps:
        res = codec.encode([luma], qp, 8, fps)
        dec = res.decoded[0]
        row = {
            "qp": qp,
            "x265_kbps": res.kbps(fps),
            "x265_bytes": res.nbytes,
            "x265_psnr_y": float(np.mean([plane_psnr(a, b) for a, b in zip(luma, dec, strict=True)])),
            "command": res.command,
        }
        step = qp_to_step(qp)
        for rate in rates:
            proxy = VideoProxy(step, step, rate=rate, learn_step=False).eval()
            with torch.no_grad():
                out = proxy(x, flow)
            recon = out.recon[0, :, 0].numpy().astype(np.uint8)
            row[f"{rate}_kbps"] = kbps(float(out.rate_bits[0]) / 8, len(luma), fps)
            row[f"{rate}_psnr_y"] = float(np.mean([plane_psnr(a, b) for a, b in zip(luma, recon, strict=True)]))
            row[f"{rate}_inter"] = float(out.inter_fraction[0, 1:].mean())
        rows.append(row)
    return rows


def run_video_fidelity(clips: list[str], frames: int, qps: list[int], rates: list[str]) -> dict:
    """Every clip at every QP through x265 and the proxy (one line per clip on stderr); JSON-able."""
    results, notes = {}, {}
    for name in clips:
        t0 = time.perf_counter()
        luma, fps, notes[name] = load_luma(name, frames)
        results[name] = measure(luma, fps, qps, rates)
        print(
            f"{name}: {luma.shape[0]} frames {luma.shape[2]}x{luma.shape[1]} @ {fps:g} fps "
            f"({time.perf_counter() - t0:.1f} s)",
            file=sys.stderr,
        )
    return {
        "summary": summarise(results, rates),
        "results": results,
        "inputs": notes,
        "x265": CODECS.build("x265", chroma="400").describe(),
        "frames": frames,
    }
