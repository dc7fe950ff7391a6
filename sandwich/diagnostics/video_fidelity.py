"""How well the video proxy's rate tracks real x265 (4:0:0, low-delay P) over clips and QPs.

Each clip's 8-bit luma goes through x265 (``bench.codecs.video``) at each QP and through
:class:`proxies.video_proxy.VideoProxy` at Δ = 2^((QP-4)/6) for I and P frames (HEVC's
quantiser step, ``proxies.calibration.qp_to_step``), with DIS flow from the same luma. Nothing
is trained: the bottleneck is the source itself. Reported per rate model:

- ``pearson_log``: correlation of log proxy kbps with log x265 kbps over every (clip, QP);
- ``ratio``: proxy / x265 kbps (median, range): the uncalibrated offset;
- ``calibrated_error``: one scale per clip fitted at the middle QP (as the image rate proxy is
  calibrated per image), then the mean and max |relative error| at the other QPs.

Every video sandwich run reports the same figures for its trained bottlenecks on the evaluation
clips (``cells_summary``: ``proxy_fidelity`` in ``summary.json``).

Run: ``bench proxy video-fidelity [--frames 10] [--qps 22,27,32,37,42] [--json]``
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np
import torch

from bench.codecs.video import get_video_codec, kbps
from bench.metrics.psnr import plane_psnr
from bench.paths import data_root
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
        clip = clip_from_rgb(read_png_frames(path, frames=frames), fps=fps, chroma="400",
                             source=path.name)
    else:
        clip = read_video(path, fps=fps)
        clip = clip.take(min(frames, clip.n_frames))
    luma = to_uint8(clip.planes[0], clip.bitdepth)
    note = clip.colour_source + ("" if clip.bitdepth == 8 else f"; {clip.bitdepth}-bit rounded to 8")
    return luma, float(clip.fps), note


def measure(luma: np.ndarray, fps: float, qps: list[int], rates: list[str]) -> list[dict]:
    """One row per QP: x265 kbps and PSNR-Y, and the proxy's kbps / PSNR-Y per rate model."""
    codec = get_video_codec("x265", chroma="400")
    flow = torch.from_numpy(sequence_flow(luma))[None]
    x = torch.from_numpy(luma.astype(np.float32))[None, :, None]
    rows = []
    for qp in qps:
        res = codec.encode([luma], qp, 8, fps)
        dec = res.decoded[0]
        row = {"qp": qp, "x265_kbps": res.kbps, "x265_bytes": res.nbytes,
               "x265_psnr_y": float(np.mean([plane_psnr(a, b) for a, b in zip(luma, dec, strict=True)])),
               "command": res.command}
        step = qp_to_step(qp)
        for rate in rates:
            proxy = VideoProxy(step, step, rate=rate, learn_step=False).eval()
            with torch.no_grad():
                out = proxy(x, flow)
            recon = out.recon[0, :, 0].numpy().astype(np.uint8)
            row[f"{rate}_kbps"] = kbps(float(out.rate_bits[0]) / 8, len(luma), fps)
            row[f"{rate}_psnr_y"] = float(np.mean([plane_psnr(a, b) for a, b in
                                                   zip(luma, recon, strict=True)]))
            row[f"{rate}_inter"] = float(out.inter_fraction[0, 1:].mean())
        rows.append(row)
    return rows


def summarise(results: dict[str, list[dict]], rates: list[str]) -> dict[str, dict]:
    """Correlation, uncalibrated ratio and per-clip-calibrated error for each rate model."""
    summary = {}
    for rate in rates:
        real = np.array([r["x265_kbps"] for rows in results.values() for r in rows])
        est = np.array([r[f"{rate}_kbps"] for rows in results.values() for r in rows])
        errors = []
        for rows in results.values():
            mid = rows[len(rows) // 2]
            scale = mid["x265_kbps"] / mid[f"{rate}_kbps"]
            errors += [abs(scale * r[f"{rate}_kbps"] / r["x265_kbps"] - 1) for r in rows if r is not mid]
        ratio = est / real
        summary[rate] = {
            "pearson_log": float(np.corrcoef(np.log(est), np.log(real))[0, 1]) if real.size > 2 else math.nan,
            "ratio_median": float(np.median(ratio)), "ratio_min": float(ratio.min()),
            "ratio_max": float(ratio.max()),
            "calibrated_error_mean": float(np.mean(errors)) if errors else math.nan,
            "calibrated_error_max": float(np.max(errors)) if errors else math.nan,
            "points": int(real.size)}
    return summary


def cells_summary(cells: list[dict]) -> dict[str, dict]:
    """The same figures for a run's video sandwich members: every evaluated (clip, QP) whose row
    holds ``proxy_kbps`` (the trained model's bottleneck through the proxy at that QP) against the
    real stream's kbps, one entry per member, with the per-point pairs kept."""
    by_member: dict[str, dict[str, list[dict]]] = {}
    for cell in cells:
        for row in cell.get("rows", []):
            if "proxy_kbps" in row and "kbps" in row:
                clips = by_member.setdefault(cell["method"], {})
                clips.setdefault(row["item"], []).append(
                    {"qp": row.get("qp"), "x265_kbps": row["kbps"], "proxy_kbps": row["proxy_kbps"],
                     "proxy_b_psnr": row.get("proxy_b_psnr")})
    out = {}
    for member, clips in sorted(by_member.items()):
        for rows in clips.values():
            rows.sort(key=lambda r: r["x265_kbps"])
        out[member] = {**summarise(clips, ["proxy"]).get("proxy", {}), "points_by_clip": clips}
    return out


def run_video_fidelity(clips: list[str], frames: int, qps: list[int], rates: list[str]) -> dict:
    """Every clip at every QP through x265 and the proxy (one line per clip on stderr); JSON-able."""
    results, notes = {}, {}
    for name in clips:
        t0 = time.perf_counter()
        luma, fps, notes[name] = load_luma(name, frames)
        results[name] = measure(luma, fps, qps, rates)
        print(f"{name}: {luma.shape[0]} frames {luma.shape[2]}x{luma.shape[1]} @ {fps:g} fps "
              f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return {"summary": summarise(results, rates), "results": results, "inputs": notes,
            "x265": get_video_codec("x265", chroma="400").describe(), "frames": frames}
