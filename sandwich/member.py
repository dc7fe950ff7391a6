"""The sandwich as a harness method: one member per λ, trained in ``prepare``, run through the real codec.

Rate points are multiples of each member's trained step Δ (rint, clipped to [1, 255] for the
flat JPEG table), so every model is swept around the rate it was trained for; the family's RD
curve is the Pareto frontier over all members (METHOD §5 "Rate points").
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.codecs import Codec
from bench.config import SandwichMethodConfig
from bench.method import FrameMethod, ItemResult, PrepareContext, TrainingPlan, class_modules
from bench.reuse import item_digests, plain
from bench.scenarios import Scenario
from sandwich import card
from sandwich.model import Sandwich, image_sandwich, initial_step, quantise_step, seeded_init
from sandwich.nets.complexity import count_params, pair_complexity
from sandwich.post_flags import flag_bytes, switch
from sandwich.train import TrainResult, finished_model, train
from sandwich.wrapped import WrappedCodec


def trained_description(cfg: SandwichMethodConfig, model: Sandwich, result: TrainResult | None) -> dict[str, Any]:
    """What an image or video member reports of its nets and their training (for results ``meta``)."""
    r = result
    return {
        "pre": cfg.pre.model_dump(),
        "post": cfg.post.model_dump(),
        "train": cfg.train.model_dump(),
        "params": sum(count_params(m) for m in (model.pre, model.post) if m is not None),
        "trained_step": r.step_size if r else None,
        "train_steps": r.steps if r else None,
        "train_seconds": r.seconds if r else None,
        "flags": r.flags if r else [],
        "weights_sha256": r.weights if r else None,
    }


class LastBottleneck:
    """B does not depend on the codec's step or QP: compute it once per item (image or clip) and
    reuse it for the whole sweep; only the latest item is kept. Returns (B, seconds it took)."""

    def __init__(self, make: Callable[[np.ndarray], np.ndarray], variant: Callable[[], object] = lambda: None) -> None:
        self._make, self._variant = make, variant
        self._key: str | None = None
        self._value: tuple[np.ndarray, float] | None = None

    def __call__(self, source: np.ndarray) -> tuple[np.ndarray, float]:
        key = hashlib.sha1(source.tobytes()).hexdigest() + str(source.shape) + repr(self._variant())
        if key != self._key or self._value is None:
            t0 = time.perf_counter()
            self._value, self._key = (self._make(source), time.perf_counter() - t0), key
        return self._value


class SandwichMember(FrameMethod):
    def __init__(
        self,
        cfg: SandwichMethodConfig,
        scenario: Scenario,
        gamma: float,
        source_channels: int,
        seed: int,
        wrapped: WrappedCodec | None = None,
    ) -> None:
        self.cfg, self.scenario, self.gamma, self.source_channels = cfg, scenario, gamma, source_channels
        self.family = cfg.name
        self.name = f"{cfg.name}.g{gamma:g}"
        self.role = cfg.role
        self.label = f"{cfg.label or cfg.name} (γ={gamma:g})"
        with seeded_init(seed):
            self.model = image_sandwich(
                scenario, cfg, source_channels, initial_step(gamma, cfg.train.step_init), wrapped
            )
        self.wrapped = wrapped
        self.device = "cpu"
        self.result: TrainResult | None = None
        # B is computed once per item for the whole sweep, unless f sees the rate point
        self._bottleneck = LastBottleneck(
            lambda src: self.model.bottleneck_image(src, self.device),
            lambda: self.model.rate_point if self.model.conditioned else None,
        )

    def rate_points(self) -> list[float]:
        """The wrapped codec's own rate points, else multiples of the trained step."""
        return list(self.wrapped.rate_points) if self.wrapped else list(self.cfg.step_factors)

    modality = "image"

    def prepare(self, ctx: PrepareContext) -> None:
        self.device = ctx.device
        self.model.to(ctx.device)
        if self.cfg.weights is not None:
            card.prepare_stored(self, ctx, self.cfg.weights)
            return
        if not ctx.train_items:
            raise ValueError(f"method {self.name!r} needs training data: set data.train in the experiment")
        inputs = self.train_inputs(ctx)
        folder = card.store_folder(self, ctx, inputs)
        trained_now = finished_model(folder, inputs) is None
        images = [self.scenario.to_source(it.load(), it.name) for it in ctx.train_items] if trained_now else []
        self.result = train(
            self.model,
            self.cfg.train,
            self.gamma,
            images,
            device=ctx.device,
            seed=ctx.seed,
            workdir=folder,
            log=ctx.log,
            name=self.name,
            inputs=inputs,
            post_flag=self.cfg.post_flag,
        )
        self.model.eval()
        card.finish(self, ctx, folder, inputs, trained_now)

    def training_plan(self, ctx: PrepareContext) -> list[TrainingPlan]:
        return card.training_plan(self, ctx, {} if self.cfg.weights else self.train_inputs(ctx))

    def real_codec(self) -> Codec:
        return self.model.real_codec()

    def calibration(self) -> list[Any]:
        """An image sandwich keeps no rate calibration (the card's field is for video members)."""
        return []

    def restore_calibration(self, calibration: list[Any]) -> None:
        """Nothing to restore for an image sandwich."""

    def train_inputs(self, ctx: PrepareContext) -> dict[str, Any]:
        """What the trained weights depend on (``sandwich.train.inputs_changed``): the training items'
        contents and everything of the configuration that training reads (not the evaluation sweep)."""
        wrapped = self.wrapped.method_config().model_dump(mode="json") if self.wrapped else None
        return plain(
            {
                "items": item_digests(ctx.train_items),
                "scenario": self.scenario.name,
                "gamma": self.gamma,
                "seed": ctx.seed,
                "method": self.cfg.model_dump(mode="json", exclude={"label", "step_factors", "post_flag"}),
                "wraps": wrapped,
            }
        )

    def real_step(self, rate_point: float) -> float:
        """The real codec's parameter for a rate point (a wrapped codec takes its own)."""
        if self.wrapped is not None:
            return rate_point
        return quantise_step(self.model.trained_step() * rate_point)

    def run_frame(self, source: np.ndarray, bitdepth: int, rate_point: float) -> ItemResult:
        if self.result is None:
            raise RuntimeError(f"method {self.name!r} was not prepared (trained) before evaluation")
        step = self.real_step(rate_point)
        if self.wrapped is not None:
            self.model.rate_point = rate_point  # a conditioned f and g see the point they code at
        b, t_pre = self._bottleneck(source)
        res = self.model.real_codec().encode_image(b, step, 8)
        t0 = time.perf_counter()
        recon = self.model.reconstruct(res.decoded, source.shape[:2], self.device)
        t_post = time.perf_counter() - t0
        nbytes, extra = res.nbytes, {"real_step": step, "pre_s": t_pre, "post_s": t_post}
        if self.cfg.post_flag:
            recon, on = self._switched(source, res.decoded, recon)
            nbytes += flag_bytes(on.size)
            extra["post_on"] = float(on.mean())
        return ItemResult(recon, nbytes, res.encode_s + t_pre, res.decode_s + t_post, res.command, extra, bottleneck=b)

    def _switched(
        self, source: np.ndarray, decoded: np.ndarray, with_post: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The encoder's post flags (:mod:`sandwich.post_flags`) against the wrapped codec's own
        reconstruction. Returns (Ŝ, flags as a blocks-high x blocks-wide bool array)."""
        without = self.model.reconstruct(decoded, source.shape[:2], self.device, use_post=False)
        return switch(source, without, with_post)

    def describe(self) -> dict[str, Any]:
        codec = self.model.real_codec()
        return {
            "kind": "sandwich",
            "family": self.family,
            "gamma": self.gamma,
            "role": self.role,
            "codec": codec.name,
            "codec_options": codec.options(),
            "wraps": self.cfg.wraps,
            "start": f"the {self.cfg.wraps} path ({self.wrapped.adapt})" if self.wrapped else None,
            "proxy": self.model.proxy.config(),
            **trained_description(self.cfg, self.model, self.result),
            "codec_version": codec.version(),
            "transfer": self.scenario.transfer,
        }

    def complexity(self) -> dict[str, Any]:
        return pair_complexity(self.model.pre, self.model.post, self.model.spec.factor)

    def code_modules(self) -> tuple[str, ...]:
        """The nets, the wrapped adaptation (baselines' numpy code), the colour and resampling maps, the codec."""
        return (
            *class_modules(self),
            *class_modules(self.model),
            "sandwich.nets",
            "sandwich.wrapped",
            "baselines.conventional",
            "baselines.resize",
            "bench.colour",
            "proxies.colour",
            "proxies.resample",
            *class_modules(self.model.real_codec()),
        )
