"""One prepared GPU session: is the CUDA path right, how fast is it, and train the zoo's long profile.

Why one script: GPU time is lent in short slices (minutes), so everything a session should bring
back is measured in one run, under 8 minutes by default, with no network:

  (a) CUDA against CPU (grayscale's sandwich on Kodak crops), same weights and inputs, fp32 (TF32
      off): the proxy's loss and gradients, one Adam step, the real-codec training check, and one
      evaluation cell (a Kodak image at the wrapped codec's middle rate point through the real codec),
      each within TOLERANCES;
  (b) training throughput (steps/s, peak GPU memory; grayscale's long batch) of the slim, the 491K
      and the paper's full U-Net at 256² crops, with the proxy alone and with the real codec in the loop;
  (c) ``bench run EXPERIMENT --profile long --device cuda`` for ``--train-seconds``, stopped with
      SIGTERM when time is up; the store folders (checkpoint.pt every 500 steps, or final.pt and card)
      are copied to the output folder, and ``--resume`` that folder continues there next session.

Writes ``<out>/gpu_check.json`` and ``<out>/models/<id>/``; exits 1 when a check of (a) fails, 2 without CUDA.

    SANDWICH_DATA=shared/data python scripts/gpu_check.py --experiment experiments/grayscale.yaml \
        --train-seconds 300 --out "$OUT" [--resume PREVIOUS_OUT]

Back home: copy ``<out>/models/*`` into ``runs/models/sandwich/``; once a model is finished,
``bench run EXPERIMENT --profile long`` reuses it without training and ``bench zoo publish`` releases it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.builders import BuildContext
from bench.checkpoint import load_checkpoint
from bench.config import SandwichMethodConfig, load_config
from bench.data import load_image, random_crop
from bench.paths import REPO_ROOT, data_root
from bench.scenarios import SCENARIOS
from sandwich.build import build_sandwich
from sandwich.member import SandwichMember
from sandwich.nets.complexity import count_params
from sandwich.train import TrainResult, loss_terms, param_groups, real_check

# (a)'s tolerances. The nets run in fp32 on both sides; what differs is summation order (cuDNN vs oneDNN)
# and, through it, a bottleneck value that rounds to the other integer now and then.
TOLERANCES = {
    "loss_rel": 1e-3,  # |loss_cuda - loss_cpu| / |loss_cpu|
    "grad_cosine": 0.999,  # cosine of the two flattened gradients
    "step_cosine": 0.99,  # cosine of the two Adam updates (Adam scales a tiny gradient up to ~lr)
    "psnr_db": 0.05,  # real-codec PSNR, dB
    "bpp_rel": 0.01,  # real-codec rate
}
NETS = {
    "slim": {"encoder": [32], "decoder": [32, 32]},
    "unet491k": {"encoder": [8, 16, 32, 64], "decoder": [128, 64, 32, 16, 8]},
    "full": {"encoder": [32, 64, 128, 256], "decoder": [512, 256, 128, 64, 32]},
}
CHECKED = REPO_ROOT / "experiments" / "grayscale.yaml"  # (a) and (b): its sandwich (8-bit RGB over a 4:0:0 JPEG)
KODAK = ("kodim01", "kodim03", "kodim05", "kodim07", "kodim13", "kodim15", "kodim19", "kodim23")


def member(experiment: Path, profile: str | None, net: dict | None = None, **train: Any) -> SandwichMember:
    """The experiment's ``sandwich`` member (its nets replaced by ``net``, its train keys by ``train``)."""
    cfg = load_config(experiment, profile)
    m = next(x for x in cfg.methods if isinstance(x, SandwichMethodConfig) and x.role == "sandwich")
    doc = m.model_dump(mode="json")
    if net is not None:
        doc["pre"], doc["post"] = {**doc["pre"], **net}, {**doc["post"], **net}
    doc["train"] = {**doc["train"], **train}
    m = SandwichMethodConfig.model_validate(doc)
    ctx = BuildContext(cfg, SCENARIOS.get(cfg.scenario), video=False, channels=3)
    built = build_sandwich(m.name, m, ctx)[0]
    assert isinstance(built, SandwichMember)
    return built


def images() -> list[np.ndarray]:
    return [load_image(data_root() / "kodak" / f"{n}.png") for n in KODAK]


def batch(imgs: list[np.ndarray], n: int, crop: int, rng: np.random.Generator, device: str) -> torch.Tensor:
    crops = [random_crop(imgs[int(rng.integers(len(imgs)))], crop, rng) for _ in range(n)]
    return torch.from_numpy(np.stack(crops).astype(np.float32)).permute(0, 3, 1, 2).contiguous().to(device)


def _flat_grad(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.grad.flatten().double().cpu() for p in model.parameters() if p.grad is not None])


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a, b, dim=0))


def check_against_cpu(imgs: list[np.ndarray]) -> dict[str, Any]:
    """(a): the same member, weights and inputs on CPU and CUDA, fp32."""
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    cpu, gpu = (member(CHECKED, "quick", bf16=False, codec_in_loop="proxy") for _ in range(2))
    gpu.model.load_state_dict(cpu.model.state_dict())
    gpu.model.to("cuda")
    cfg = cpu.cfg.train
    s = batch(imgs, 4, 128, np.random.default_rng(0), "cpu")
    out: dict[str, Any] = {"experiment": str(CHECKED), "tolerances": TOLERANCES}
    losses, grads, steps = [], [], []
    for m, x in ((cpu, s), (gpu, s.cuda())):
        model = m.model.train()
        before = torch.cat([p.detach().flatten().double().cpu() for p in model.parameters()])
        terms = loss_terms(model, x, m.gamma, cfg)
        terms["loss"].backward()
        losses.append(float(terms["loss"].detach()))
        grads.append(_flat_grad(model))
        torch.optim.Adam(param_groups(model, cfg), lr=cfg.lr).step()
        steps.append(torch.cat([p.detach().flatten().double().cpu() for p in model.parameters()]) - before)
    out["loss"] = {"cpu": losses[0], "cuda": losses[1], "rel": abs(losses[1] - losses[0]) / abs(losses[0])}
    out["grad_cosine"] = _cos(grads[0], grads[1])
    out["step_cosine"] = _cos(steps[0], steps[1])
    gpu.model.load_state_dict(cpu.model.state_dict())  # the real-codec paths compared on the same trained weights
    crops = [random_crop(img, 128, np.random.default_rng(i)) for i, img in enumerate(imgs[:4])]
    checks = [real_check(m.model, crops, dev) for m, dev in ((cpu, "cpu"), (gpu, "cuda"))]
    out["real_check"] = {"cpu": checks[0], "cuda": checks[1]}
    cells = []
    for m, dev in ((cpu, "cpu"), (gpu, "cuda")):
        m.model.eval()
        m.device, m.result = dev, TrainResult(1, m.model.trained_step())
        point = m.rate_points()[len(m.rate_points()) // 2]
        res = m.run_frame(imgs[-1], 8, point)
        mse = float(np.mean((res.decoded.astype(np.float64) - imgs[-1]) ** 2))
        cells.append({"rate_point": point, "psnr": 10 * math.log10(255**2 / mse), "nbytes": res.nbytes})
    out["cell"] = {"cpu": cells[0], "cuda": cells[1]}
    out["pass"] = {
        "loss": out["loss"]["rel"] <= TOLERANCES["loss_rel"],
        "gradients": out["grad_cosine"] >= TOLERANCES["grad_cosine"],
        "adam_step": out["step_cosine"] >= TOLERANCES["step_cosine"],
        "real_check": _close(
            checks[0]["real_psnr"], checks[1]["real_psnr"], checks[0]["real_bpp"], checks[1]["real_bpp"]
        ),
        "cell": _close(cells[0]["psnr"], cells[1]["psnr"], cells[0]["nbytes"], cells[1]["nbytes"]),
    }
    return out


def _close(psnr_a: float, psnr_b: float, rate_a: float, rate_b: float) -> bool:
    return abs(psnr_a - psnr_b) <= TOLERANCES["psnr_db"] and abs(rate_a - rate_b) <= TOLERANCES["bpp_rel"] * rate_a


def throughput(imgs: list[np.ndarray], steps: int = 20, warm: int = 3) -> list[dict[str, Any]]:
    """(b): steps/s and peak GPU memory per net and codec path, the long profile's batch at 256² crops."""
    rows = []
    for name, net in NETS.items():
        for in_loop in ("proxy", "real"):
            m = member(CHECKED, "long", net, crop=256, codec_in_loop=in_loop)
            model, cfg = m.model.to("cuda").train(), m.cfg.train
            opt = torch.optim.Adam(param_groups(model, cfg), lr=cfg.lr)
            rng = np.random.default_rng(0)
            torch.cuda.reset_peak_memory_stats()
            for i in range(warm + steps):
                if i == warm:
                    torch.cuda.synchronize()
                    t0 = time.perf_counter()
                terms = loss_terms(model, batch(imgs, cfg.batch, cfg.crop, rng, "cuda"), m.gamma, cfg)
                opt.zero_grad(set_to_none=True)
                terms["loss"].backward()
                opt.step()
            torch.cuda.synchronize()
            rows.append(
                {
                    "net": name,
                    "params": count_params(model),
                    "codec_in_loop": in_loop,
                    "batch": cfg.batch,
                    "crop": cfg.crop,
                    "bf16": cfg.bf16,
                    "steps_per_s": steps / (time.perf_counter() - t0),
                    "peak_gib": torch.cuda.max_memory_allocated() / 2**30,
                }
            )
            print(f"[gpu_check] {rows[-1]}", file=sys.stderr, flush=True)
            del model, opt
            torch.cuda.empty_cache()
    return rows


def train_long(experiment: Path, seconds: float, out: Path, resume: Path | None) -> dict[str, Any]:
    """(c): the long profile on CUDA until done or ``seconds``; the store folders copied to ``out/models``."""
    runs = Path(tempfile.mkdtemp(prefix="gpu_check_")) / "runs"
    store = runs / "models" / "sandwich"
    if resume is not None and (resume / "models").is_dir():
        shutil.copytree(resume / "models", store, dirs_exist_ok=True)
    cmd = [sys.executable, "-m", "bench.cli", "run", str(experiment), "--profile", "long", "--device", "cuda"]
    cmd += ["--out", str(runs)]
    t0 = time.perf_counter()
    with (out / "train.log").open("w") as log:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=env)
        try:
            rc = proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)  # the run ends KILLED; checkpoints stay
            rc = proc.wait(timeout=120)
    models = {}
    for folder in sorted(store.glob("*")) if store.is_dir() else []:
        kept = [f for f in ("final.pt", "checkpoint.pt", "card.json") if (folder / f).is_file()]
        dest = out / "models" / folder.name
        dest.mkdir(parents=True, exist_ok=True)
        for f in kept:
            shutil.copyfile(folder / f, dest / f)
        state = next((load_checkpoint(folder / f) for f in ("final.pt", "checkpoint.pt") if f in kept), {})
        models[folder.name] = {"files": kept, "steps": state.get("steps"), "seconds": state.get("seconds")}
    return {"command": " ".join(cmd), "exit_code": rc, "wall_s": time.perf_counter() - t0, "models": models}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", type=Path, default=REPO_ROOT / "experiments" / "grayscale.yaml")
    ap.add_argument("--train-seconds", type=float, default=300.0, help="(c)'s budget; 0 skips the training")
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu_check_out")))
    ap.add_argument("--resume", type=Path, help="an earlier --out whose models/ training continues from")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print(f"gpu_check: no CUDA device (torch {torch.__version__}); run it on a machine with a GPU", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    imgs = images()
    report: dict[str, Any] = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
    }
    report["against_cpu"] = check_against_cpu(imgs)
    print(f"[gpu_check] CUDA against CPU: {report['against_cpu']['pass']}", file=sys.stderr, flush=True)
    report["throughput"] = throughput(imgs)
    if args.train_seconds > 0:
        report["long"] = train_long(args.experiment, args.train_seconds, args.out, args.resume)
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=1))
    print(args.out / "gpu_check.json")
    return 0 if all(report["against_cpu"]["pass"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
