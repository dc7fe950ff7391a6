"""Training one sandwich model through the proxy: D + λ·R, checkpointed, resumable, self-watching.

Loss per sample (METHOD §5, the release's normalisation, 0..255 scale):
``L = [Σ (S − Ŝ)² + γ·R̂_bits + range penalty] / (H·W·C)``; the range penalty is
``255·Σ(relu(B − 255) + relu(−B)) / 26.5``. Adam, no schedule. Every ``check_every`` steps the
model is run through the *real* codec on fixed check crops and real PSNR/bpp are logged next to
the proxy's (METHOD §3: proxy gradients can mislead, so the real codec gates the run). A run that
ends without real improvement, or (4:0:0) stuck at the luma-only ceiling, is flagged.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.checkpoint import load_checkpoint, save_checkpoint
from bench.colour import BT601_LUMA_PRINTED
from bench.config import TrainConfig
from bench.data import random_crop, sha256_file
from bench.method import RunLog
from bench.progress import Task, task
from bench.reuse import dict_changed, items_changed
from proxies.colour import linear_ycbcr
from sandwich.model import Sandwich
from sandwich.post_flags import flag_bytes, switch

CHECKPOINT, FINAL = "checkpoint.pt", "final.pt"
TRAIN_ITEM_KEYS = ("items", "stills")  # keys of a model's training inputs that map item names to sha256


@dataclass
class TrainResult:
    steps: int
    step_size: float
    flags: list[str] = field(default_factory=list)
    checks: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    weights: str = ""  # sha256 of final.pt: a cell computed with other weights is recomputed


def check_psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * math.log10(peak**2 / mse) if mse > 0 else math.inf


def _batch(images: list[np.ndarray], cfg: TrainConfig, rng: np.random.Generator, device: str) -> torch.Tensor:
    crops = [random_crop(images[int(rng.integers(len(images)))], cfg.crop, rng) for _ in range(cfg.batch)]
    # contiguous: a channels-last batch crashes oneDNN's 1x1-conv weight gradient on this torch/CPU
    return torch.from_numpy(np.stack(crops).astype(np.float32)).permute(0, 3, 1, 2).contiguous().to(device)


_YUV611_W = torch.tensor([6.0, 1.0, 1.0]) / 8


def squared_error(s: torch.Tensor, recon: torch.Tensor, distortion: str) -> torch.Tensor:
    """Per-sample mean squared error over everything after the batch axis; ``yuv611`` (and
    ``psnr-yuv``, whose logged MSE this is) measures it on BT.601 full-range YCbCr weighted 6:1:1
    (channel axis -3), as psnr-yuv weighs the planes."""
    err = s - recon
    if distortion in ("yuv611", "psnr-yuv"):
        weight = 3 * _YUV611_W.to(err)[:, None, None]  # the mean over 3 planes x 3 = the weighted sum
        return (_ycbcr_error(err, distortion) ** 2 * weight).flatten(1).mean(1)
    return (err**2).flatten(1).mean(1)


def _ycbcr_error(err: torch.Tensor, distortion: str) -> torch.Tensor:
    if err.shape[-3] != 3:
        raise ValueError(
            f"train.distortion {distortion} needs RGB sources, got {err.shape[-3]} channels; use distortion: rgb"
        )
    return linear_ycbcr(err)


PSNR_EPS = 1.0  # MSE floor of the dB loss: caps a plane at 48 dB so a flat crop cannot dominate


def psnr_yuv_loss(s: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
    """−PSNR-YUV per sample in dB: the 6:1:1 mean of per-plane PSNRs (0..255 scale), per frame and
    averaged over frames for ``N x T x 3 x H x W`` clips, exactly as psnr-yuv scores a sequence.

    Why: the metric is a mean of *logarithms*, so a dB of luma is worth six dB of one chroma
    plane wherever the planes stand; an MSE loss (yuv611) instead weighs errors by size and, next
    to a colourless anchor's huge chroma error, spends luma fidelity on colour."""
    mse = (_ycbcr_error(s - recon, "psnr-yuv") ** 2).mean(dim=(-2, -1))  # ... x 3
    psnr = 10 * torch.log10(255.0**2 / (mse + PSNR_EPS))
    per_frame = -(psnr * _YUV611_W.to(psnr)).sum(-1)  # N, or N x T for clips
    return per_frame.flatten(1).mean(1) if per_frame.ndim > 1 else per_frame


def distortion_term(s: torch.Tensor, recon: torch.Tensor, distortion: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(distortion per sample as the loss uses it, MSE per sample for the log).

    No −PSNR loss for RGB: over hdr's q30–q100 sweep its per-crop 1/MSE weights let the top qualities
    and flat crops rule Adam and g learnt nothing (BD −0.002 dB, measured); the MSE with a small
    residual unit (``net.residual_scale``) learnt +0.53 dB."""
    mse = squared_error(s, recon, distortion)
    if distortion == "psnr-yuv":
        return psnr_yuv_loss(s, recon), mse
    return mse, mse


def range_penalty(b: torch.Tensor, elems: int, cfg: TrainConfig, like: torch.Tensor) -> torch.Tensor:
    """Per element, what B spends outside the codec's 0..255 (it would be clipped there); zeros when off."""
    if not cfg.range_penalty:
        return torch.zeros_like(like)
    return 255.0 * (torch.relu(b - 255) + torch.relu(-b)).flatten(1).sum(1) / 26.5 / elems


def loss_terms(
    model: Sandwich, s: torch.Tensor, gamma: float, cfg: TrainConfig, lpips: torch.nn.Module | None = None
) -> dict[str, torch.Tensor]:
    """Distortion, rate and penalty per element (batch-averaged), all on the 0..255 scale."""
    via_proxy = None
    if cfg.codec_in_loop == "proxy":
        out = model(s)
    else:
        out, via_proxy = model.forward_real(s, straight_through=cfg.codec_in_loop == "real_ste")
    n, c, h, w = s.shape
    elems = h * w * c
    scale = 2.0**model.k

    def distortion(recon: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d, mse = distortion_term(s / scale, recon / scale, cfg.distortion)
        dist = cfg.mse_weight * d
        if lpips is not None and cfg.lpips_weight > 0:
            peak = 255.0 * scale
            dist = dist + cfg.lpips_weight * lpips(recon / peak * 2 - 1, s / peak * 2 - 1).flatten()
        return dist, mse

    dist, mse = distortion(out.recon)  # logged: what the real codec gives
    if via_proxy is not None:  # f learns through the proxy; g through both
        dist = dist + distortion(via_proxy)[0]
    rate = gamma * out.proxy.rate_bits / elems
    penalty = range_penalty(out.bottleneck, elems, cfg, mse)
    total = (dist + rate + penalty).mean()
    bpp = out.proxy.rate_bits / (h * w)
    return {
        "loss": total,
        "mse": mse.mean(),
        "distortion": dist.mean(),
        "rate_term": rate.mean(),
        "penalty": penalty.mean(),
        "proxy_bpp": bpp.mean(),
        "step": out.proxy.step.mean(),
    }


def lpips_frames(lpips: torch.nn.Module, ref: np.ndarray, dist: np.ndarray, peak: float, device: str) -> float:
    """Mean LPIPS of ``(T x) H x W x 3`` frame pairs on the 0..peak scale (inputs mapped to [-1, 1])."""

    def to_t(a: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(a.astype(np.float32)).to(device)
        return (t[None] if t.ndim == 3 else t).permute(0, 3, 1, 2) / peak * 2 - 1

    return float(lpips(to_t(dist), to_t(ref)).mean())


def real_check(
    model: Sandwich,
    crops: list[np.ndarray],
    device: str,
    lpips: torch.nn.Module | None = None,
    post_flag: bool = False,
) -> dict[str, float]:
    """Real-codec PSNR/bpp of the current model on fixed crops, next to the proxy's own (and the real
    LPIPS-alex when the run trains for it). ``post_flag``: as the member is evaluated, g switched per
    block by the encoder and the flag bits counted in the rate."""
    model.eval()
    peak = float((1 << model.bitdepth) - 1)
    step = model.eval_param()
    real_psnr, real_bpp, proxy_psnr, proxy_bpp, real_lpips = [], [], [], [], []
    with torch.inference_mode():
        for crop in crops:
            recon, res, _ = model.code_real(crop, step, device)
            nbytes = res.nbytes
            if post_flag:
                without = model.reconstruct(res.decoded, crop.shape[:2], device, use_post=False)
                recon, on = switch(crop, without, recon)
                nbytes += flag_bytes(on.size)
            real_psnr.append(check_psnr(crop, recon, peak))
            if lpips is not None:
                real_lpips.append(lpips_frames(lpips, crop, recon, peak, device))
            real_bpp.append(8.0 * nbytes / (crop.shape[0] * crop.shape[1]))
            s = torch.from_numpy(crop.astype(np.float32)).permute(2, 0, 1)[None].to(device)
            out = model(s)
            prox = out.recon.round().clamp(0, peak)[0].permute(1, 2, 0).cpu().numpy()
            proxy_psnr.append(check_psnr(crop, prox, peak))
            proxy_bpp.append(float(out.proxy.rate_bits[0]) / (crop.shape[0] * crop.shape[1]))
    model.train()
    return {
        "real_psnr": float(np.mean(real_psnr)),
        "real_bpp": float(np.mean(real_bpp)),
        "proxy_psnr": float(np.mean(proxy_psnr)),
        "proxy_bpp": float(np.mean(proxy_bpp)),
        "real_step": float(step),
        **({"real_lpips": float(np.mean(real_lpips))} if real_lpips else {}),
    }


def luma_ceiling(crops: list[np.ndarray]) -> float:
    """PSNR of the best colourless reconstruction (BT.601 luma replicated): the 4:0:0 baseline's cap."""
    vals = []
    for c in crops:
        y = np.rint(c.astype(np.float64) @ BT601_LUMA_PRINTED)
        vals.append(check_psnr(c, np.repeat(y[..., None], 3, axis=2), 255.0))
    return float(np.mean(vals))


def check_objective(cfg: TrainConfig, check: dict[str, float]) -> tuple[str, str, bool]:
    """(check key, label, higher is better) of the real-codec figure that follows what the run minimises:
    LPIPS for LPIPS-trained runs, PSNR-YUV for the YUV distortions, else PSNR."""
    if cfg.lpips_weight > 0 and "real_lpips" in check:
        return "real_lpips", "LPIPS-alex", False
    if cfg.distortion in ("yuv611", "psnr-yuv") and "real_psnr_yuv" in check:
        return "real_psnr_yuv", "PSNR-YUV", True
    return "real_psnr", "PSNR", True


def training_flags(
    model: Sandwich, cfg: TrainConfig, checks: list[dict[str, float]], crops: list[np.ndarray]
) -> list[str]:
    flags = []
    if len(checks) >= 2:
        key, label, higher = check_objective(cfg, checks[0])
        first, last = checks[0][key], checks[-1][key]
        improved = last > first + 0.1 if higher else last < 0.99 * first  # +0.1 dB, or 1 % less LPIPS
        worse = last < first if higher else last > first
        shown = f"{first:.2f} -> {last:.2f} dB" if higher else f"{first:.4f} -> {last:.4f}"
        where = f"on {len(crops)} training check images at step {checks[-1]['real_step']:g}" + (
            ", from the untrained start" if checks[0].get("iteration") == 0 else ""
        )
        if worse:
            flags.append(
                f"real-codec {label} ended below where training started ({shown} {where}): a bug to find, not a result"
            )
        elif not improved:
            flags.append(f"real-codec {label} did not improve during training ({shown} {where})")
    if model.bottleneck_channels == 1 and model.source_channels == 3 and model.pre is not None and checks:
        cap = luma_ceiling(crops)
        if checks[-1]["real_psnr"] < cap + 0.5:
            flags.append(
                f"no-modulation regime: real PSNR {checks[-1]['real_psnr']:.2f} dB is not 0.5 dB above "
                f"the luma-only ceiling {cap:.2f} dB; train longer, raise lambda or the initial step "
                "(METHOD §10)"
            )
    return flags


@dataclass(frozen=True)
class TrainHooks:
    """What the loop needs from one kind of data: a batch, the loss terms, a real-codec check and the
    end-of-run flags. Images use :func:`image_hooks`; video clips ``sandwich.video_train.video_hooks``."""

    batch: Callable[[np.random.Generator], Any]
    loss: Callable[[Any, Any], dict[str, torch.Tensor]]
    check: Callable[[Any], dict[str, float]]
    flags: Callable[[Any, list[dict[str, float]]], list[str]]


def anchor_slopes(
    model: Sandwich,
    cfg: TrainConfig,
    crops: list[np.ndarray],
    points: list[float],
    device: str,
    lpips: torch.nn.Module | None,
) -> dict[float, float]:
    """-dD/dR of the wrapped codec itself (its adaptation, no nets) at each rate point, on training crops,
    in the loss's own units (D as the loss measures it, R in bits per element).

    Why: one λ cannot suit a whole quality sweep (the codec's slope changes ~10x from q20 to q92);
    weighing the rate by the codec's own slope makes every step of training a move *off* the
    codec's curve, not along it, so what training gains is BD gain."""
    from baselines.conventional import ConventionalCodec

    wrapped = model.wrapped
    assert wrapped is not None
    codec = ConventionalCodec(wrapped.method_config())
    curve = []
    for p in sorted(points, key=float):
        d, r = [], []
        for crop in crops:
            res = codec.run_frame(crop, model.bitdepth, p)
            s = torch.from_numpy(crop.astype(np.float32)).permute(2, 0, 1)[None].to(device) / 2.0**model.k
            rec = torch.from_numpy(res.decoded.astype(np.float32)).permute(2, 0, 1)[None].to(device) / 2.0**model.k
            dist = cfg.mse_weight * distortion_term(s, rec, cfg.distortion)[0]
            if lpips is not None and cfg.lpips_weight > 0:
                with torch.no_grad():
                    dist = dist + cfg.lpips_weight * lpips(rec / 255 * 2 - 1, s / 255 * 2 - 1).flatten()
            d.append(float(dist.mean()))
            r.append(8.0 * res.nbytes / crop.size)
        curve.append((p, float(np.mean(r)), float(np.mean(d))))
    curve.sort(key=lambda t: t[1])
    out = {}
    for i, (p, _, _) in enumerate(curve):
        lo, hi = curve[max(i - 1, 0)], curve[min(i + 1, len(curve) - 1)]
        out[p] = max((lo[2] - hi[2]) / max(hi[1] - lo[1], 1e-9), 0.0)
    return out


def image_hooks(
    model: Sandwich,
    cfg: TrainConfig,
    gamma: float,
    images: list[np.ndarray],
    device: str,
    seed: int,
    post_flag: bool = False,
) -> TrainHooks:
    """Random crops, :func:`loss_terms`, :func:`real_check` on 4 fixed crops, :func:`_flags`.

    A sandwich wrapping a codec method trains at that codec's rate points, one drawn per step, and
    is checked at the middle one (where ``Sandwich.rate_point`` starts)."""
    check_rng = np.random.default_rng(seed + 1)
    check_crops = [random_crop(images[i % len(images)], cfg.crop, check_rng) for i in range(4)]
    lpips = None
    if cfg.lpips_weight > 0:
        from bench.metrics.lpips import get_lpips

        lpips = get_lpips("alex", device)
    check_point = model.rate_point
    points = list(cfg.rate_points or (model.wrapped.rate_points if model.wrapped else []))
    weights = dict.fromkeys(points, gamma)
    if model.wrapped is not None:  # γ multiplies the wrapped codec's own D-R slope at each point
        slope_rng = np.random.default_rng(seed + 2)
        crops = [random_crop(images[i % len(images)], cfg.crop, slope_rng) for i in range(8)]
        slopes = anchor_slopes(model, cfg, crops, points, device, lpips)
        weights = {p: gamma * slopes[p] for p in points}
        print(
            "[bench] rate weight per rate point (γ × the wrapped codec's slope -dD/dR): "
            + ", ".join(f"{p:g}: {w:.3g}" for p, w in weights.items()),
            file=sys.stderr,
            flush=True,
        )

    def batch(rng: np.random.Generator) -> tuple[torch.Tensor, float | None]:
        point = points[int(rng.integers(len(points)))] if points else None
        return _batch(images, cfg, rng, device), point

    def loss(m: Sandwich, b: tuple[torch.Tensor, float | None]) -> dict[str, torch.Tensor]:
        m.rate_point = b[1] if b[1] is not None else m.rate_point
        return loss_terms(m, b[0], weights.get(b[1], gamma) if b[1] is not None else gamma, cfg, lpips)

    def check(m: Sandwich) -> dict[str, float]:
        m.rate_point = check_point
        return real_check(m, check_crops, device, lpips, post_flag)

    return TrainHooks(batch, loss, check, lambda m, checks: training_flags(m, cfg, checks, check_crops))


def param_groups(model: torch.nn.Module, cfg: TrainConfig) -> list[dict[str, Any]]:
    """Adam groups: f at ``lr · pre_lr_scale``, everything else at ``lr``.

    Why: Adam moves every weight by about lr per step whatever the gradient's signal-to-noise, and
    f's signal through a codec proxy is weak (its distortion gradient's cosine with the real codec's
    is about 0 with noise, negative with straight-through rounding: ``bench proxy gradients``),
    so at g's lr f random-walks away from its start (measured: −2 to −3 dB at the first check)."""
    pre = getattr(model, "pre", None)
    if pre is None or cfg.pre_lr_scale == 1.0:  # one group, as checkpoints before pre_lr_scale hold
        return [{"params": list(model.parameters()), "lr": cfg.lr, "base_lr": cfg.lr}]
    pre_ids = {id(p) for p in pre.parameters()}
    rest = [p for p in model.parameters() if id(p) not in pre_ids]
    lr = cfg.lr * cfg.pre_lr_scale
    return [
        {"params": rest, "lr": cfg.lr, "base_lr": cfg.lr},
        {"params": [p for p in model.parameters() if id(p) in pre_ids], "lr": lr, "base_lr": lr},
    ]


def _run_check(
    hooks: TrainHooks, model: Any, step_no: int, steps: int, name: str, log: RunLog, rate: float | None
) -> dict[str, float]:
    """One real-codec check, printed and logged (step 0: the untrained start)."""
    check = {"iteration": step_no, **hooks.check(model)}
    yuv = f" (YUV {check['real_psnr_yuv']:.2f} dB)" if "real_psnr_yuv" in check else ""
    yuv += f" (LPIPS {check['real_lpips']:.4f})" if "real_lpips" in check else ""
    speed = f", {rate:.2f} it/s" if rate is not None else " (untrained start)"
    print(
        f"[bench] {name} step {step_no}/{steps}: real {check['real_psnr']:.2f} dB{yuv} @ "
        f"{check['real_bpp']:.3f} bpp (proxy {check['proxy_psnr']:.2f} dB @ {check['proxy_bpp']:.3f}), "
        f"step {check['real_step']:g}{speed}",
        file=sys.stderr,
        flush=True,
    )
    ratio = {"check_proxy_real_rate_ratio": check["proxy_bpp"] / check["real_bpp"]} if check.get("real_bpp") else {}
    log.metrics({**{f"check_{k}": v for k, v in check.items() if k != "iteration"}, **ratio}, step_no)
    return check


def inputs_changed(state: dict[str, Any], inputs: dict[str, Any] | None) -> str | None:
    """Why a checkpoint may not be reused for training ``inputs`` (None: it may).

    ``inputs`` is plain data: ``items`` (and, for video, ``stills``), {name: sha256} of what it trains
    on, and the rest (method configuration, λ, seed, scenario), compared key by key. The training code
    is not part of it: retraining costs hours, and behaviour changes come with config keys. A
    checkpoint written before inputs were recorded is taken as it is (its run folder already pins the
    configuration; retraining every existing model would cost hours); the caller says so."""
    if "inputs" not in state:
        return None
    old, new = state["inputs"] or {}, inputs or {}
    why = [
        f"training {key}: {change}"
        for key in TRAIN_ITEM_KEYS
        for change in items_changed(old.get(key, {}), new.get(key, {}))
    ]
    why += dict_changed(
        {k: v for k, v in old.items() if k not in TRAIN_ITEM_KEYS},
        {k: v for k, v in new.items() if k not in TRAIN_ITEM_KEYS},
        "training configuration",
    )
    return "; ".join(why) or None


def finished_model(workdir: Path, inputs: dict[str, Any] | None, device: str = "cpu") -> dict[str, Any] | None:
    """The ``final.pt`` state in ``workdir`` if it was trained from ``inputs``, else None."""
    final = workdir / FINAL
    if not final.is_file():
        return None
    state = load_checkpoint(final, device)
    return state if inputs_changed(state, inputs) is None else None


def _step(
    model: Any,
    cfg: TrainConfig,
    hooks: TrainHooks,
    opt: torch.optim.Optimizer,
    rng: np.random.Generator,
    it: int,
    log: RunLog,
    progress: Task,
) -> None:
    """One optimiser step (step ``it + 1``), its curves logged every ``log_every`` steps."""
    if cfg.lr_schedule == "cosine":  # from the step count alone, so a resumed run continues the same curve
        for group in opt.param_groups:
            group["lr"] = group.get("base_lr", cfg.lr) * 0.5 * (1 + math.cos(math.pi * it / cfg.steps))
    terms = hooks.loss(model, hooks.batch(rng))
    opt.zero_grad(set_to_none=True)
    terms["loss"].backward()
    opt.step()
    progress.advance()
    step_no = it + 1
    if step_no % cfg.log_every == 0 or step_no == cfg.steps:
        values = {k: float(v.detach()) for k, v in terms.items()}
        values.update(
            {
                f"alpha_{side}": float(p.alpha.detach())
                for side, p in (("pre", model.pre), ("post", model.post))
                if p is not None and p.alpha is not None
            }
        )
        log.metrics(values, step_no)


def train(
    model: Sandwich,
    cfg: TrainConfig,
    gamma: float,
    images: list[np.ndarray],
    *,
    device: str,
    seed: int,
    workdir: Path,
    log: RunLog,
    name: str,
    hooks: TrainHooks | None = None,
    inputs: dict[str, Any] | None = None,
    post_flag: bool = False,
) -> TrainResult:
    """Train ``model`` in place (or load the finished one from ``workdir``) and return what happened.

    ``inputs`` (plain data, see :func:`inputs_changed`) is stored in every checkpoint: a finished or
    half-done model trained from other inputs is trained again, and the terminal says why. The old
    ``final.pt`` stays until the new one replaces it. ``post_flag``: the real-codec checks switch g per
    block and count the bits, as the member's evaluation does."""
    workdir.mkdir(parents=True, exist_ok=True)
    final = workdir / FINAL
    if final.is_file():
        state = load_checkpoint(final, device)
        why = inputs_changed(state, inputs)
        if why is None:
            if "inputs" not in state:
                print(
                    f"[bench] {name}: {final} has no record of its training inputs (written by an older bench); "
                    "reused as it is, delete it to retrain",
                    file=sys.stderr,
                    flush=True,
                )
            model.load_state_dict(state["model"])
            return TrainResult(
                state["steps"],
                model.trained_step(),
                state["flags"],
                state["checks"],
                state["seconds"],
                sha256_file(final),
            )
        print(f"[bench] retraining {name}: {why}", file=sys.stderr, flush=True)
    torch.manual_seed(seed)
    model.to(device).train()
    opt = torch.optim.Adam(param_groups(model, cfg), lr=cfg.lr)
    rng = np.random.default_rng(seed)
    hooks = hooks or image_hooks(model, cfg, gamma, images, device, seed, post_flag)
    start, checks, seconds = 0, [], 0.0
    ckpt = workdir / CHECKPOINT
    half = load_checkpoint(ckpt, device) if ckpt.is_file() else None
    why = inputs_changed(half, inputs) if half is not None else None
    if why is not None:
        print(f"[bench] {name}: not resuming {ckpt.name} ({why}); training from the start", file=sys.stderr, flush=True)
    elif half is not None:
        model.load_state_dict(half["model"])
        opt.load_state_dict(half["optimizer"])
        rng.bit_generator.state = half["rng"]
        torch.set_rng_state(half["torch_rng"])
        start, checks, seconds = half["steps"], half["checks"], half["seconds"]
        print(f"[bench] {name}: resuming training at step {start}", file=sys.stderr)
    if start == 0:  # the untrained model's real-codec figure: what "improved" is measured against
        checks.append(_run_check(hooks, model, 0, cfg.steps, name, log, None))
    t0 = time.perf_counter() - seconds
    with task(f"train {name}", cfg.steps, start) as progress:
        for it in range(start, cfg.steps):
            _step(model, cfg, hooks, opt, rng, it, log, progress)
            step_no = it + 1
            if step_no % cfg.check_every == 0 or step_no == cfg.steps:
                rate = (step_no - start) / max(time.perf_counter() - t0 - seconds, 1e-9)
                checks.append(_run_check(hooks, model, step_no, cfg.steps, name, log, rate))
            if step_no % cfg.checkpoint_every == 0 and step_no < cfg.steps:
                save_checkpoint(
                    ckpt,
                    {
                        "model": model.state_dict(),
                        "optimizer": opt.state_dict(),
                        "rng": rng.bit_generator.state,
                        "torch_rng": torch.get_rng_state(),
                        "steps": step_no,
                        "checks": checks,
                        "seconds": time.perf_counter() - t0,
                        "inputs": inputs,
                    },
                )
    seconds = time.perf_counter() - t0
    flags = hooks.flags(model, checks)
    for f in flags:
        print(f"[bench] WARNING {name}: {f}", file=sys.stderr)
    log.tags({"flags": " | ".join(flags) or "none"})
    save_checkpoint(
        final,
        {
            "model": model.state_dict(),
            "steps": cfg.steps,
            "flags": flags,
            "checks": checks,
            "seconds": seconds,
            "inputs": inputs,
        },
    )
    ckpt.unlink(missing_ok=True)
    return TrainResult(cfg.steps, model.trained_step(), flags, checks, seconds, sha256_file(final))
