"""Train a CompressAI architecture here, when its published weights are not available.

CompressAI's own recipe at a small budget: random crops of the training set, Adam on the
network, a second Adam (lr 1e-3) on the entropy bottleneck's quantiles driven by the aux loss,
CompressAI's RD loss (λ·255²·MSE + bpp, or λ·(1 - MS-SSIM) + bpp), gradient norm clipped to 1.
One addition: the entropy bottleneck's density may get its own learning rate (``lr_entropy``).
At CompressAI's 1e-4 it barely moves from its broad initial shape in a few hundred steps, so the
rate stays near 3.5 bpp whatever λ is (measured: 600 steps, q1 and q3 both ≈ 3.5 bpp on Kodak).
After training the CDFs are rebuilt on CPU (``update(force=True, update_quantiles=True)``: the
bottleneck's quantiles found by bisection on the learned density, which a short run's aux loss
has not reached), so the checkpoint holds exactly the tables the entropy coder will use.

One checkpoint per quality, written atomically, marked finished and stamped with its training
spec and the sha256 of its training set's manifest (item names and contents): a re-run loads it
instead of training again; a checkpoint from another spec or other training images is retrained,
and the terminal says why.
Models trained here are never the published ones; the method's label says so.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines.compressai_import import import_compressai
from baselines.compressai_zoo import new_model
from bench.checkpoint import save_checkpoint
from bench.data import Item, random_crop
from bench.errors import DataError
from bench.method import RunLog
from bench.progress import task
from bench.reuse import dict_changed

AUX_LR = 1e-3
CLIP_NORM = 1.0
LOG_LAST = 50  # steps averaged into the checkpoint's final losses
LOG_EVERY = 25  # steps per logged training-curve point


@dataclass(frozen=True)
class TrainSpec:
    """Everything that determines the trained weights (the checkpoint is reused only on a match)."""

    arch: str
    quality: int
    metric: str
    channels: tuple[int, ...]
    steps: int
    batch: int
    crop: int
    lr: float
    lr_entropy: float
    lmbda: float
    seed: int

    def stamp(self) -> dict[str, Any]:
        return {**asdict(self), "channels": list(self.channels)}


def _say(msg: str) -> None:
    """Phase lines on stderr, like the runner's (stdout's last line is the run folder)."""
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _rgb8(img: np.ndarray, item: Item) -> np.ndarray:
    if img.dtype != np.uint8:
        raise DataError(f"training image {item.path} is {img.dtype}; CompressAI training takes 8-bit images")
    if img.shape[2] == 1:
        return np.repeat(img, 3, axis=2)
    return img[:, :, :3]


def _batch(items: Sequence[Item], spec: TrainSpec, rng: np.random.Generator) -> torch.Tensor:
    picks = rng.integers(0, len(items), size=spec.batch)
    crops = [random_crop(_rgb8(items[i].load(), items[i]), spec.crop, rng) for i in picks]
    # contiguous NCHW: a channels-last batch makes oneDNN's 1x1-conv weight gradient segfault
    # (torch 2.13 CPU, avx512; Cheng2020's 1x1 convs hit it)
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().div_(255.0).contiguous()


def load_finished(path: Path, spec: TrainSpec, train_hash: str) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it is finished and was trained with ``spec`` on the training set
    whose manifest hashes to ``train_hash``. Checkpoints from before the hash was stored are taken:
    their file name already carries it (``baselines.learned``)."""
    if not path.is_file():
        return None
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a torn or foreign file: train again
        return None
    if not ckpt.get("finished"):
        return None
    if ckpt.get("spec") != spec.stamp():
        why = dict_changed(ckpt.get("spec") or {}, spec.stamp(), "training spec")
        _say(f"{path.name}: {'; '.join(why) or 'no training spec recorded'}; training again")
        return None
    if ckpt.get("train", train_hash) != train_hash:
        _say(
            f"{path.name}: trained on other images (training set manifest sha256 {str(ckpt['train'])[:12]}, "
            f"now {train_hash[:12]}); training again"
        )
        return None
    return ckpt


def train(
    spec: TrainSpec, items: Sequence[Item], device: str, path: Path, log: RunLog, train_hash: str
) -> dict[str, Any]:
    """Train one quality, log its curves, write its finished checkpoint; return the checkpoint dict."""
    cai = import_compressai()
    torch.manual_seed(spec.seed * 1000 + spec.quality)
    rng = np.random.default_rng([spec.seed, spec.quality])
    model = new_model(spec.arch, spec.channels).to(device).train()
    named = list(model.named_parameters())
    aux = [p for n, p in named if n.endswith(".quantiles")]
    density = [p for n, p in named if n.startswith("entropy_bottleneck.") and not n.endswith(".quantiles")]
    net = [p for n, p in named if not n.startswith("entropy_bottleneck.")]
    opt = torch.optim.Adam([{"params": net, "lr": spec.lr}, {"params": density, "lr": spec.lr_entropy}])
    aux_opt = torch.optim.Adam(aux, lr=AUX_LR)
    criterion = cai.losses.RateDistortionLoss(lmbda=spec.lmbda, metric=spec.metric)
    history: list[tuple[float, float, float]] = []
    _say(
        f"train {spec.arch} q={spec.quality} ({spec.metric}, lambda {spec.lmbda:g}): {spec.steps} steps of "
        f"{spec.batch} x {spec.crop}^2 crops from {len(items)} images on {device}"
    )
    t0 = time.perf_counter()
    with task(f"train {spec.arch} q={spec.quality}", spec.steps) as progress:
        for step in range(spec.steps):
            x = _batch(items, spec, rng).to(device)
            out = criterion(model(x), x)
            opt.zero_grad()
            out["loss"].backward()
            torch.nn.utils.clip_grad_norm_(net + density, CLIP_NORM)
            opt.step()
            aux_loss = model.aux_loss()
            aux_opt.zero_grad()
            aux_loss.backward()
            aux_opt.step()
            history.append((out["loss"].item(), out["bpp_loss"].item(), aux_loss.item()))
            progress.advance()
            if (step + 1) % LOG_EVERY == 0 or step + 1 == spec.steps:
                recent = np.asarray(history[-LOG_EVERY:]).mean(axis=0)
                log.metrics(
                    {
                        f"q{spec.quality}.loss": float(recent[0]),
                        f"q{spec.quality}.bpp_loss": float(recent[1]),
                        f"q{spec.quality}.aux_loss": float(recent[2]),
                    },
                    step + 1,
                )
    model = model.cpu().eval()
    with torch.no_grad():  # quantiles by bisection on the learned density: exact even when the
        model.update(force=True, update_quantiles=True)  # aux loss has had few steps to converge
    tail = np.asarray(history[-LOG_LAST:])
    _say(
        f"train {spec.arch} q={spec.quality}: done in {time.perf_counter() - t0:.0f} s, last {len(tail)} steps: "
        f"loss {tail[:, 0].mean():.4g}, bpp {tail[:, 1].mean():.4g} -> {path}"
    )
    ckpt = {
        "finished": True,
        "spec": spec.stamp(),
        "train": train_hash,
        "state_dict": model.state_dict(),
        "final": {
            "loss": float(tail[:, 0].mean()),
            "bpp_loss": float(tail[:, 1].mean()),
            "aux_loss": float(tail[:, 2].mean()),
            "steps_averaged": len(tail),
        },
    }
    save_checkpoint(path, ckpt)  # atomic under a unique temporary name: two runs may train the same model
    return ckpt


def model_from_checkpoint(ckpt: dict[str, Any]) -> Any:
    """An eval-mode CPU model with the checkpoint's weights and entropy-coder tables."""
    spec = ckpt["spec"]
    model = new_model(spec["arch"], tuple(spec["channels"]))
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()
