"""CompressAI learned codecs as baselines, coded for real (ANS on CPU, bytes from the stream).

Two sources of weights, never confused: ``pretrained`` reads the zoo's published files (from the
torch hub cache or ``checkpoint_dir``; nothing is downloaded, a missing file is one message naming
it and its URL), ``trained_here`` trains the same architecture on the experiment's train set in
``prepare``. The label always says which ("published weights" / "trained here, N steps"), so a
model trained here on a small budget is never read as the published model.

Rate points are CompressAI quality indices; each is its own model. See ``compressai_codec`` for
the stream layout and the per-image round-trip checks.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from baselines.compressai_codec import code_checked, header_bytes
from baselines.compressai_complexity import codec_complexity
from baselines.compressai_import import ENTROPY_CODER, import_compressai
from baselines.compressai_train import TrainSpec, load_finished, model_from_checkpoint, train
from baselines.compressai_zoo import ARCHS, PUBLISHED_LAMBDAS, find_pretrained, load_pretrained, standard_channels
from baselines.conventional import msb_down, msb_up
from bench.config import CompressAIMethodConfig, CompressAITrainConfig
from bench.data import Dataset, sha256_file
from bench.errors import BenchError
from bench.method import FrameMethod, ItemResult, PrepareContext, TrainingPlan, class_modules


class CompressAIMethod(FrameMethod):
    def __init__(
        self, cfg: CompressAIMethodConfig, checkpoint_dir: Path | None = None, train_set: Dataset | None = None
    ) -> None:
        self.cfg, self.arch = cfg, ARCHS[cfg.arch]
        self.train_set = train_set  # its own (train.data), else the experiment's
        self.name, self.role = cfg.name, cfg.role
        self.version = import_compressai().__version__  # fails here, before any work, if missing
        self.train_cfg = cfg.train or CompressAITrainConfig()
        self._models: dict[int, Any] = {}
        self._files: dict[int, Path] = {}
        self._final: dict[int, dict[str, float]] = {}
        self._hashes: dict[Path, str] = {}
        if cfg.weights == "pretrained":
            self._files = {q: find_pretrained(cfg.arch, cfg.metric, q, checkpoint_dir) for q in cfg.qualities}
            source = "published weights"
        else:
            source = f"trained here, {self.train_cfg.steps} steps"
        size = "" if cfg.channels is None else f" {'/'.join(map(str, cfg.channels))}ch"
        self.label = f"{cfg.label or cfg.arch}{size} ({source})"

    def rate_points(self) -> list[float]:
        return [float(q) for q in self.cfg.qualities]

    def spec(self, quality: int, seed: int) -> TrainSpec:
        t = self.train_cfg
        lmbda = t.lambdas.get(quality, PUBLISHED_LAMBDAS[self.cfg.metric][quality - 1])
        channels = tuple(self.cfg.channels or standard_channels(self.cfg.arch, quality))
        return TrainSpec(
            self.cfg.arch,
            quality,
            self.cfg.metric,
            channels,
            t.steps,
            t.batch,
            t.crop,
            t.lr,
            t.lr_entropy or t.lr,
            lmbda,
            seed,
        )

    def prepare(self, ctx: PrepareContext) -> None:
        """Load the published weights, or train each quality (reusing finished checkpoints)."""
        for q in self.cfg.qualities:
            if self.cfg.weights == "pretrained":
                self._models[q] = load_pretrained(self.cfg.arch, self._files[q])
                continue
            items = self.train_set.items if self.train_set else ctx.train_items
            if not items:
                raise BenchError(f"method {self.name!r}: weights: trained_here needs a train set (data.train)")
            spec = self.spec(q, ctx.seed)
            train_hash = self.train_set.manifest_hash() if self.train_set else ctx.train_hash
            path = self._checkpoint_path(spec, ctx, train_hash)
            ckpt = load_finished(path, spec, train_hash) or train(spec, items, ctx.device, path, ctx.log, train_hash)
            self._models[q], self._files[q], self._final[q] = model_from_checkpoint(ckpt), path, ckpt["final"]

    def training_plan(self, ctx: PrepareContext) -> list[TrainingPlan]:
        """One entry per quality trained here: its checkpoint, reused when finished from the same spec and
        train set (what ``prepare`` checks), else all its steps (training here always starts over)."""
        if self.cfg.weights == "pretrained":
            return []
        train_hash = self.train_set.manifest_hash() if self.train_set else ctx.train_hash
        out = []
        for q in self.cfg.qualities:
            spec = self.spec(q, ctx.seed)
            path = self._checkpoint_path(spec, ctx, train_hash)
            reused = load_finished(path, spec, train_hash) is not None
            out.append(TrainingPlan(str(path), reused, 0 if reused else spec.steps))
        return out

    def _checkpoint_path(self, spec: TrainSpec, ctx: PrepareContext, train_hash: str) -> Path:
        """Shared across experiments when the runner offers a model folder: the weights depend only
        on the spec and the train set, so grayscale/lowres/rgb runs train the same model once."""
        name = f"{self.cfg.arch}-{self.cfg.metric}-q{spec.quality}"
        if ctx.shared is None:
            return ctx.workdir / f"{name}.pt"
        key = json.dumps({"spec": spec.stamp(), "train": train_hash}, sort_keys=True)
        return ctx.shared / "compressai" / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.pt"

    def run_frame(self, source: np.ndarray, bitdepth: int, rate_point: float) -> ItemResult:
        deep = self.cfg.adapt == "msb8" and bitdepth > 8
        coded_in = msb_down(source, bitdepth, 8) if deep else source
        if coded_in.dtype != np.uint8 or coded_in.shape[2] != 3:
            hint = " (set adapt: msb8 for deeper sources)" if bitdepth > 8 else ""
            raise BenchError(
                f"method {self.name!r}: CompressAI codecs take 8-bit RGB, got {source.dtype} "
                f"with {source.shape[2]} channel(s){hint}"
            )
        q = int(rate_point)
        if q not in self._models:
            raise BenchError(f"method {self.name!r}: quality {q} has no model (prepare() has not run)")
        coded = code_checked(self._models[q], coded_in, self.arch)
        command = f"compressai {self.version} {self.cfg.arch} q={q} {self.cfg.metric} ({ENTROPY_CODER}, cpu)"
        decoded = msb_up(coded.decoded, bitdepth, 8) if deep else coded.decoded
        return ItemResult(
            decoded,
            len(coded.stream),
            coded.encode_s,
            coded.decode_s,
            command,
            {"header_bytes": header_bytes(self.arch.n_strings)},
        )

    def complexity(self) -> dict[str, Any] | None:
        """The largest of the per-quality models (most parameters), so the table shows the method's worst case."""
        if not self._models:
            return None
        sizes = {q: codec_complexity(m) for q, m in self._models.items()}
        return max(sizes.values(), key=lambda c: c["params"])

    def _sha256(self, path: Path) -> str:
        if path not in self._hashes:
            self._hashes[path] = sha256_file(path)
        return self._hashes[path]

    def describe(self) -> dict[str, Any]:
        files = {q: f"{p.name} sha256:{self._sha256(p)}" for q, p in sorted(self._files.items())}
        out: dict[str, Any] = {
            "kind": "compressai",
            "adapt": self.cfg.adapt,
            "arch": self.cfg.arch,
            "metric": self.cfg.metric,
            "qualities": list(self.cfg.qualities),
            "weights": self.cfg.weights,
            "weight_files": files,
            "compressai": self.version,
            "entropy_coder": f"{ENTROPY_CODER} (cpu)",
            "stream_header_bytes": header_bytes(self.arch.n_strings),
        }
        if self.cfg.weights == "trained_here":
            t = self.train_cfg
            out["train"] = {
                "steps": t.steps,
                "batch": t.batch,
                "crop": t.crop,
                "lr": t.lr,
                "lr_entropy": t.lr_entropy or t.lr,
                "channels": {q: list(self.spec(q, 0).channels) for q in self.cfg.qualities},
                "lambdas": {q: self.spec(q, 0).lmbda for q in self.cfg.qualities},
                "final_losses": self._final,
                "data": (
                    f"{self.train_set.name} sha256:{self.train_set.manifest_hash()}"
                    if self.train_set
                    else "the experiment's data.train"
                ),
            }
        return out

    def code_modules(self) -> tuple[str, ...]:
        """The stream layout and round-trip checks, the architectures, the MSB split."""
        return (
            *class_modules(self),
            "baselines.compressai_codec",
            "baselines.compressai_zoo",
            "baselines.conventional",
        )
