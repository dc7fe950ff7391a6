"""How faithful is the image proxy to the real codec? (``bench proxy fidelity``)

Per image and step Δ, the proxy (:class:`proxies.image_proxy.ImageProxy`, STE, eval mode) and
the real codec code the same 8-bit plane; we compare bits and reconstruction PSNR and time both.

Bottleneck: the BT.601 luma of each image, rounded to 8 bits, as one 4:0:0 plane: the core
sandwich case (a gray bottleneck). Every bottleneck channel is coded this way (no colour
transform), so a luma plane stands for any channel at one encode per image and step.

Rate figures, and why there are several:

- ``rate_error_pct``: the calibrated proxy R̂ = a·N + b with a fitted on *this* image and step,
  as in training. Its forward value equals the real bits **by construction** (≈ 0, float32
  round-off); it checks the plumbing, not predictive power.
- ``pred_error_image_pct``: a fitted on the *other images* at the same Δ (one global a per Δ),
  applied to this image's N: how well N ranks and scales rates across content.
- ``pred_error_step_pct``: a for this image predicted from its *other steps* (line through
  log a vs log Δ): how smoothly the scale moves with Δ.
- ``gaussian_error_pct`` / ``laplacian_error_pct``: the calibration-free models (no codec).

``rate_correlation``: Pearson correlation of N and the real bits across images, per Δ (the
median over Δ is reported): what a global a can achieve, with no per-image fit.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from bench.data import IMAGE_SUFFIXES, load_image
from bench.errors import BenchError, DataError
from bench.metrics.common import rgb_to_luma
from bench.metrics.psnr import psnr_rgb
from proxies.calibration import TARGETS, constant_bits, make_target
from proxies.image_proxy import ImageProxy
from proxies.rate import calibrate

DEFAULT_STEPS = (2.0, 4.0, 8.0, 16.0, 32.0)
BOTTLENECK = "BT.601 luma, rounded to uint8, one 4:0:0 plane per image"


def list_images(data: Path, max_items: int | None) -> list[Path]:
    """Image files directly in ``data``, sorted by name, the first ``max_items``."""
    if not data.is_dir():
        raise DataError(f"data folder not found: {data}")
    paths = sorted(p for p in data.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise DataError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {data}")
    return paths[:max_items] if max_items else paths


def luma8(path: Path) -> np.ndarray:
    """The 8-bit gray bottleneck of one image."""
    img = load_image(path)
    if img.dtype != np.uint8:
        raise DataError(f"{path}: fidelity runs on 8-bit images, got {img.dtype}")
    return np.clip(np.rint(rgb_to_luma(img)), 0, 255).astype(np.uint8)


def _pct(estimate: float, real: float) -> float:
    return 100.0 * (estimate - real) / real


def _median(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.median(vals)) if vals else None


def _code_item(target, proxies: dict[str, ImageProxy], name: str, plane: np.ndarray, step: float) -> dict:
    """Proxy and real codec on one plane at one step."""
    coded = target.code(plane, step)
    x = torch.from_numpy(plane).float()[None, None]
    with torch.no_grad():
        t0 = time.perf_counter()
        out = proxies["gaussian"](x, step)
        proxy_s = time.perf_counter() - t0
        laplacian = float(proxies["laplacian"](x, step).rate_bits)
    header = constant_bits(target, plane.shape[0], plane.shape[1], step)
    bits, intercept, scale = (
        float(t) for t in calibrate(out.log_count, torch.tensor([float(coded.bits)]), torch.tensor([float(header)]))
    )
    recon = out.recon[0, 0].round().to(torch.uint8).numpy()
    psnr_proxy, psnr_real = psnr_rgb(plane, recon), psnr_rgb(plane, coded.decoded)
    gaussian = float(out.rate_bits)
    return {
        "item": name,
        "step": step,
        "codec_param": target.param(step),
        "pixels": plane.size,
        "real_bits": coded.bits,
        "proxy_bits": bits,
        "header_bits": intercept,
        "log_count": float(out.log_count),
        "nonzeros": int(out.nonzeros),
        "scale": scale,
        "rate_error_pct": _pct(bits, coded.bits),
        "gaussian_bits": gaussian,
        "gaussian_error_pct": _pct(gaussian, coded.bits),
        "laplacian_bits": laplacian,
        "laplacian_error_pct": _pct(laplacian, coded.bits),
        "psnr_proxy": psnr_proxy,
        "psnr_real": psnr_real,
        "psnr_gap_db": psnr_proxy - psnr_real,
        "proxy_ms": 1e3 * proxy_s,
        "codec_ms": 1e3 * coded.seconds,
    }


def _predict(rec: dict, scale: float | None) -> float | None:
    if scale is None:
        return None
    return _pct(scale * rec["log_count"] + rec["header_bits"], rec["real_bits"])


def _add_predictive(items: list[dict]) -> None:
    """Fill ``pred_error_image_pct`` and ``pred_error_step_pct`` (a never fitted on the item)."""
    for rec in items:
        others = [o for o in items if o["step"] == rec["step"] and o["item"] != rec["item"]]
        n = sum(o["log_count"] for o in others)
        rate = sum(o["real_bits"] - o["header_bits"] for o in others)
        rec["pred_error_image_pct"] = _predict(rec, rate / n if n > 0 else None)
        same = [o for o in items if o["item"] == rec["item"] and o["step"] != rec["step"] and o["scale"] > 0]
        scale = None
        if len(same) >= 2:
            slope, icpt = np.polyfit([math.log(o["step"]) for o in same], [math.log(o["scale"]) for o in same], 1)
            scale = math.exp(icpt + slope * math.log(rec["step"]))
        rec["pred_error_step_pct"] = _predict(rec, scale)


def _correlations(items: list[dict], steps: list[float]) -> dict[str, float | None]:
    """Pearson r of N vs real bits across images, per step (None below 3 images)."""
    out: dict[str, float | None] = {}
    for step in steps:
        rows = [r for r in items if r["step"] == step]
        n = np.array([r["log_count"] for r in rows])
        bits = np.array([r["real_bits"] for r in rows])
        ok = len(rows) >= 3 and n.std() > 0 and bits.std() > 0
        out[f"{step:g}"] = float(np.corrcoef(n, bits)[0, 1]) if ok else None
    return out


def _abs_median(items: list[dict], key: str) -> float | None:
    return _median([None if r[key] is None else abs(r[key]) for r in items])


def _per_step(items: list[dict], steps: list[float]) -> list[dict]:
    rows = []
    for step in steps:
        sel = [r for r in items if r["step"] == step]
        rows.append(
            {
                "step": step,
                "codec_param": sel[0]["codec_param"],
                "real_bpp": _median([r["real_bits"] / r["pixels"] for r in sel]),
                **{
                    f"median_abs_{k}": _abs_median(sel, k)
                    for k in (
                        "pred_error_image_pct",
                        "pred_error_step_pct",
                        "gaussian_error_pct",
                        "laplacian_error_pct",
                    )
                },
                "median_psnr_gap_signed_db": _median([r["psnr_gap_db"] for r in sel]),
            }
        )
    return rows


def run_fidelity(codec: str, data: Path, steps: list[float], max_items: int | None) -> dict:
    """Proxy vs real ``codec`` (``jpeg`` | ``hevc``) on the images in ``data``; one JSON-able dict."""
    if codec not in TARGETS:
        raise BenchError(f"unknown codec {codec!r} for fidelity; choose from: {', '.join(TARGETS)}")
    if not steps or any(not math.isfinite(s) or s < 1 for s in steps):
        raise BenchError(f"steps must be numbers >= 1, got {steps}")
    paths = list_images(Path(data), max_items)
    target = make_target(codec)
    proxies = {name: ImageProxy(rate=name, learn_step=False).eval() for name in ("gaussian", "laplacian")}
    items = []
    for path in tqdm(paths, desc=f"fidelity {codec}", unit="image"):
        plane = luma8(path)
        items += [_code_item(target, proxies, path.name, plane, s) for s in steps]
    _add_predictive(items)
    corr = _correlations(items, steps)
    return {
        "codec": codec,
        "bottleneck": BOTTLENECK,
        "steps": steps,
        "codec_params": [target.param(s) for s in steps],
        "n_items": len(paths),
        "median_abs_rate_error_pct": _abs_median(items, "rate_error_pct"),
        "predictive_rate_error_pct": {
            "other_images_same_step": _abs_median(items, "pred_error_image_pct"),
            "same_image_other_steps": _abs_median(items, "pred_error_step_pct"),
        },
        "calibration_free": {
            name: {
                "median_abs_rate_error_pct": _abs_median(items, f"{name}_error_pct"),
                "median_rate_error_pct": _median([r[f"{name}_error_pct"] for r in items]),
            }
            for name in ("gaussian", "laplacian")
        },
        "median_psnr_gap_db": _abs_median(items, "psnr_gap_db"),
        "median_psnr_gap_signed_db": _median([r["psnr_gap_db"] for r in items]),
        "rate_correlation": _median(list(corr.values())),
        "rate_correlation_per_step": corr,
        "proxy_ms": _median([r["proxy_ms"] for r in items]),
        "codec_ms": _median([r["codec_ms"] for r in items]),
        "per_step": _per_step(items, steps),
        "notes": (
            "median_abs_rate_error_pct is the calibrated proxy (a fitted on the same "
            "image and step): ~0 by construction; predictive_rate_error_pct never fits "
            "a on the item. psnr gap = proxy - real (dB). proxy_ms: one no-grad "
            "forward on CPU; codec_ms: one real encode."
        ),
        "per_item": items,
    }
