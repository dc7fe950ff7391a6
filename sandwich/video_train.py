"""Training the video sandwich with ``sandwich.train``'s loop (checkpoints, resume, logging, flags).

Loss per clip (METHOD §5; "video also divides by frames"), 0..255 scale::

    L = [Σ_t Σ_pixels,channels (S - Ŝ)² + γ·R̂_bits + range penalty] / (T·H·W·C)

with R̂ the video proxy's rate summed over the I and P frames, and the optional LPIPS term the mean
over frames. The real-codec check codes two fixed clips with the real encoder at the model's current
QP and logs real PSNR-RGB / bits per pixel beside the proxy's, under the image loop's keys
(``real_step`` is the Δ of that QP, so the loop's line stays comparable).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch
from torch import Tensor

from bench.config import TrainConfig
from bench.metrics.psnr import psnr_yuv
from proxies.calibration import qp_to_step
from sandwich.model import Sandwich
from sandwich.train import TrainHooks, check_psnr, distortion_term, lpips_frames, range_penalty, training_flags
from sandwich.train_clips import ClipSampler
from sandwich.video_model import VideoCoding

CHECK_FPS = Fraction(25)  # bits per pixel do not depend on it; the stream's timing info does not either


def video_loss_terms(
    model: Sandwich, batch: tuple[Tensor, Tensor], gamma: float, cfg: TrainConfig, lpips: torch.nn.Module | None = None
) -> dict[str, Tensor]:
    """Distortion, rate and penalty per element (batch-averaged) for ``N x T x C x H x W`` clips."""
    s, flow = batch
    out = model(s, flow)
    n, t, c, h, w = s.shape
    elems = t * c * h * w
    d, mse = distortion_term(s, out.recon, cfg.distortion)
    dist = cfg.mse_weight * d
    if lpips is not None and cfg.lpips_weight > 0:
        lp = lpips(out.recon.flatten(0, 1) / 255 * 2 - 1, s.flatten(0, 1) / 255 * 2 - 1).view(n, t).mean(1)
        dist = dist + cfg.lpips_weight * lp
    rate = gamma * out.proxy.rate_bits / elems
    penalty = range_penalty(out.bottleneck, elems, cfg, mse)
    return {
        "loss": (dist + rate + penalty).mean(),
        "mse": mse.mean(),
        "distortion": dist.mean(),
        "rate_term": rate.mean(),
        "penalty": penalty.mean(),
        "proxy_bpp": (out.proxy.rate_bits / (t * h * w)).mean(),
        "step": out.proxy.step_inter,
        "step_intra": out.proxy.step_intra,
        "inter_fraction": out.proxy.inter_fraction[:, 1:].mean(),
    }


def video_check(
    coding: VideoCoding, clips: list[tuple[np.ndarray, np.ndarray]], device: str, lpips: torch.nn.Module | None = None
) -> dict[str, float]:
    """Real-codec PSNR-RGB (and PSNR-YUV 6:1:1, what video experiments report; LPIPS-alex for runs that
    train for it) and bits per pixel of fixed clips at the current QP, next to the proxy's."""
    model = coding.model
    model.eval()
    qp = coding.real_qp()
    real_psnr, real_yuv, real_bpp, proxy_psnr, proxy_bpp, real_lpips = [], [], [], [], [], []
    with torch.inference_mode():
        for frames, flow in clips:
            t, h, w = frames.shape[:3]
            recon, res, _ = coding.code_clip(frames, qp, CHECK_FPS, device)
            if lpips is not None:
                real_lpips.append(lpips_frames(lpips, frames, recon, 255.0, device))
            real_psnr.append(np.mean([check_psnr(a, b, 255.0) for a, b in zip(frames, recon, strict=True)]))
            real_yuv.append(np.mean([psnr_yuv(a, b, 8) for a, b in zip(frames, recon, strict=True)]))
            real_bpp.append(8.0 * res.nbytes / (t * h * w))
            s = torch.from_numpy(frames.astype(np.float32)).permute(0, 3, 1, 2)[None].to(device)
            out = model(s, torch.from_numpy(flow)[None].to(device))
            prox = out.recon.round().clamp(0, 255)[0].permute(0, 2, 3, 1).cpu().numpy()
            proxy_psnr.append(np.mean([check_psnr(a, b, 255.0) for a, b in zip(frames, prox, strict=True)]))
            proxy_bpp.append(float(out.proxy.rate_bits[0]) / (t * h * w))
    model.train()
    return {
        "real_psnr": float(np.mean(real_psnr)),
        "real_psnr_yuv": float(np.mean(real_yuv)),
        "real_bpp": float(np.mean(real_bpp)),
        "proxy_psnr": float(np.mean(proxy_psnr)),
        "proxy_bpp": float(np.mean(proxy_bpp)),
        "real_step": qp_to_step(qp),
        "real_qp": float(qp),
        **({"real_lpips": float(np.mean(real_lpips))} if real_lpips else {}),
    }


def video_hooks(
    coding: VideoCoding, cfg: TrainConfig, gamma: float, sampler: ClipSampler, device: str, seed: int
) -> TrainHooks:
    """Clip batches, :func:`video_loss_terms`, :func:`video_check` on 2 fixed clips, the image flags
    (the 4:0:0 luma ceiling is computed on the check clips' frames)."""
    check_rng = np.random.default_rng(seed + 1)
    check_clips = [sampler.sample(check_rng) for _ in range(2)]
    check_frames = [f for frames, _ in check_clips for f in frames]
    lpips = None
    if cfg.lpips_weight > 0:
        from bench.metrics.lpips import get_lpips

        lpips = get_lpips("alex", device)
    return TrainHooks(
        lambda rng: sampler.batch(cfg.batch, rng, device),
        lambda m, batch: video_loss_terms(m, batch, gamma, cfg, lpips),
        lambda m: video_check(coding, check_clips, device, lpips),
        lambda m, checks: training_flags(m, cfg, checks, check_frames),
    )
