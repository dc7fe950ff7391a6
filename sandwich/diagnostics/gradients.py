"""Does the proxy's gradient point where the real codec's does? (``bench proxy gradients``)

For one gray bottleneck B (a crop of an image's BT.601 luma, the same S it should reconstruct) and
a flat step Δ, the real codec (flat-table gray JPEG) defines

    D(B) = Σ (S − dec(enc(B)))²        R(B) = bits of enc(B)

Neither is differentiable, so each is probed along K random directions v (i.i.d. N(0, 1) per
pixel, so ±ε·v moves pixels by about ε grey levels; B ± ε·v is rounded and clipped as a codec input
must be): the central difference (f(B + εv) − f(B − εv)) / 2ε estimates ∇f·v. The proxy's own
∇·v (autograd at B) is compared with it through the cosine over the K directions — the cosine
between the two gradients projected on a random K-dimensional subspace (METHOD §11).

Training options compared (the distortion side):

- ``ste``: proxy forward, round with an identity gradient (the default quantiser);
- ``noise``: proxy forward with additive uniform noise (training mode), identity gradient;
- ``real``: the real decoded B̂ in the forward, passed straight through (``codec_in_loop: real_ste``;
  with ``real`` f's gradient is the proxy pass's, i.e. ``ste``).

The rate side: the calibrated rate with the gradient of Σ ln(1 + |round(X/Δ)|) (``rounded``, the
default) or of Σ ln(1 + |X/Δ|) (``unrounded``, ``proxy.rate_gradient``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import torch
from tqdm import tqdm

from bench.errors import BenchError
from proxies.calibration import make_target
from proxies.image_proxy import ImageProxy
from sandwich.diagnostics.fidelity import list_images, luma8

DISTORTION_OPTIONS = ("ste", "noise", "real")
RATE_OPTIONS: tuple[Literal["rounded", "unrounded"], ...] = ("rounded", "unrounded")


def _cosine(a: np.ndarray, b: np.ndarray) -> float | None:
    den = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / den) if den > 0 else None


def _probe(plane: np.ndarray, step: float, directions: int, eps: float, rng: np.random.Generator) -> dict:
    """Real-codec central differences of D and R along ``directions`` random directions, and the
    proxy's directional derivatives for every option, on one plane at one step."""
    target = make_target("jpeg")
    s = plane.astype(np.float64)
    vs = rng.standard_normal((directions, *plane.shape))

    def real(b: np.ndarray) -> tuple[float, float]:
        coded = target.code(np.clip(np.rint(b), 0, 255).astype(np.uint8), step)
        return float(np.sum((s - coded.decoded) ** 2)), float(coded.bits)

    fd_d, fd_r = np.empty(directions), np.empty(directions)
    for k, v in enumerate(vs):
        (dp, rp), (dm, rm) = real(s + eps * v), real(s - eps * v)
        fd_d[k], fd_r[k] = (dp - dm) / (2 * eps), (rp - rm) / (2 * eps)

    v_t = torch.from_numpy(vs).float()
    s_t = torch.from_numpy(plane).float()[None, None]
    real_dec = torch.from_numpy(target.code(plane, step).decoded.astype(np.float32))[None, None]
    grads: dict[str, torch.Tensor] = {}
    for option in DISTORTION_OPTIONS:
        proxy = ImageProxy(step=step, quantizer="noise" if option == "noise" else "ste", learn_step=False)
        proxy.train(option == "noise")
        b = s_t.clone().requires_grad_()
        recon = proxy(b).recon
        if option == "real":
            recon = recon + (real_dec - recon).detach()
        d = ((s_t - recon) ** 2).sum()
        grads[f"distortion_{option}"] = torch.autograd.grad(d, b)[0][0, 0]
    for option in RATE_OPTIONS:
        proxy = ImageProxy(step=step, learn_step=False, rate_gradient=option).eval()
        b = s_t.clone().requires_grad_()
        grads[f"rate_{option}"] = torch.autograd.grad(proxy(b).rate_bits.sum(), b)[0][0, 0]
    out: dict = {}
    for key, g in grads.items():
        along = (v_t * g).flatten(1).sum(1).numpy().astype(np.float64)
        out[key] = _cosine(along, fd_d if key.startswith("distortion") else fd_r)
    return out


def run_gradient_fidelity(
    data: Path,
    steps: list[float],
    max_items: int | None,
    crop: int = 64,
    directions: int = 48,
    eps: float = 2.0,
    seed: int = 0,
) -> dict:
    """Cosines between the proxy's gradients and the real JPEG's finite differences; JSON-able."""
    if directions < 2 or eps <= 0 or crop < 8:
        raise BenchError(f"need directions >= 2, eps > 0 and crop >= 8; got {directions}, {eps}, {crop}")
    paths = list_images(Path(data), max_items)
    rng = np.random.default_rng(seed)
    items = []
    for path in tqdm(paths, desc="gradient fidelity", unit="image"):
        plane = luma8(path)
        h, w = plane.shape
        y, x = int(rng.integers(0, max(h - crop, 0) + 1)), int(rng.integers(0, max(w - crop, 0) + 1))
        tile = np.ascontiguousarray(plane[y : y + crop, x : x + crop])
        for step in steps:
            items.append({"item": path.name, "step": step, **_probe(tile, step, directions, eps, rng)})
    keys = [f"distortion_{o}" for o in DISTORTION_OPTIONS] + [f"rate_{o}" for o in RATE_OPTIONS]
    per_step = []
    for step in steps:
        sel = [r for r in items if r["step"] == step]
        row: dict = {"step": step}
        for k in keys:
            vals = [r[k] for r in sel if r[k] is not None]
            row[k] = (
                {"mean": float(np.mean(vals)), "min": float(np.min(vals)), "max": float(np.max(vals))} if vals else None
            )
        per_step.append(row)
    return {
        "codec": "jpeg (flat-table gray)",
        "crop": crop,
        "directions": directions,
        "eps": eps,
        "seed": seed,
        "n_items": len(paths),
        "steps": steps,
        "per_step": per_step,
        "per_item": items,
        "notes": "cosine over random directions between the proxy's directional derivative (autograd) and "
        "the real codec's central difference; distortion_real = real decoded B̂ passed straight through",
    }
