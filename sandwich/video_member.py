"""The video sandwich as a harness method: one member per λ, trained on clips, run through real x265.

Rate points are the config's ``step_factors``: each evaluates QP = round(4 + 6·log2(Δ·factor)) around
the member's trained step Δ (factor 2 is +6 QP), so every model is swept around the rate it was
trained for, and the family's curve is the Pareto frontier of all members, as for images. Training
data: clips of the train set (windows, DIS flow) and stills with synthetic camera motion (see
``sandwich.train_clips``); what was used is tagged on the training run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.codecs import Codec, frame_type_bytes, kbps
from bench.config import RunModelRef, SandwichMethodConfig, VideoSandwichConfig
from bench.data import Item, expand_path
from bench.method import ItemResult, Method, PrepareContext, TrainingPlan, class_modules
from bench.metrics.psnr import plane_psnr
from bench.reuse import item_digests, plain
from bench.scenarios import Scenario
from bench.source import Source
from bench.video.dataset import VideoItem
from sandwich import card
from sandwich.member import LastBottleneck, trained_description
from sandwich.model import initial_step, seeded_init
from sandwich.nets.complexity import pair_complexity
from sandwich.run_ref import check_run_model_ref, run_model_path
from sandwich.train import TrainResult, finished_model, train
from sandwich.train_clips import ClipSampler
from sandwich.video_model import VideoCoding, video_sandwich
from sandwich.video_train import video_hooks
from sandwich.wrapped import WrappedCodec


class VideoSandwichMember(Method):
    def __init__(
        self,
        cfg: SandwichMethodConfig,
        scenario: Scenario,
        gamma: float,
        stills: tuple[Item, ...] = (),
        seed: int = 0,
        wrapped: WrappedCodec | None = None,
    ) -> None:
        self.cfg, self.scenario, self.gamma, self.stills, self.wrapped = cfg, scenario, gamma, stills, wrapped
        self.video = cfg.video or VideoSandwichConfig()
        self.family = cfg.name
        self.name = f"{cfg.name}.g{gamma:g}"
        self.role = cfg.role
        self.label = f"{cfg.label or cfg.name} (γ={gamma:g})"
        with seeded_init(seed):
            self.model = video_sandwich(scenario, cfg, 3, initial_step(gamma, cfg.train.step_init), wrapped)
        self.coding = VideoCoding(self.model, self.video)
        self.coding.real_video_codec()  # a bad codec option fails at plan time, not after training
        if isinstance(self.video.init_from, RunModelRef):
            check_run_model_ref(self.video.init_from)
        elif self.video.init_from is not None and not expand_path(self.video.init_from).is_file():
            raise ValueError(f"video.init_from: checkpoint not found: {expand_path(self.video.init_from)}")
        self.device = "cpu"
        self.result: TrainResult | None = None
        self._bottleneck = LastBottleneck(
            lambda frames: self.coding.bottleneck_frames(frames, self.device),
            lambda: self.model.rate_point if self.model.conditioned else None,
        )

    def rate_points(self) -> list[float]:
        """The wrapped codec's own QPs, else multiples of the trained step."""
        return list(self.wrapped.rate_points) if self.wrapped else list(self.cfg.step_factors)

    modality = "video"
    source_channels = 3

    def prepare(self, ctx: PrepareContext) -> None:
        self.device = ctx.device
        if self.cfg.weights is not None:
            self.model.to(ctx.device)
            card.prepare_stored(self, ctx, self.cfg.weights)
            return
        items = tuple(ctx.train_items) + tuple(self.stills)
        if not items:
            raise ValueError(f"method {self.name!r} needs training data: set data.train or data.train_stills")
        inputs = self.train_inputs(ctx)
        folder = card.store_folder(self, ctx, inputs)
        trained_now = finished_model(folder, inputs) is None
        start: dict[
            str, str
        ] = {}  # where training starts, tagged only when it trains now (a reused model keeps its tag)
        if trained_now:
            start["init_from"] = "random"
            if self.video.init_from is not None:
                ref = self.video.init_from
                path = (
                    run_model_path(ref, ctx.out or Path("runs")) if isinstance(ref, RunModelRef) else expand_path(ref)
                )
                start["init_from"] = f"{path} ({len(self.coding.load_image_checkpoint(path))} tensors of pre/post)"
        self.model.to(ctx.device)
        clips = [it.load() for it in items if isinstance(it, VideoItem)]
        stills = [self.scenario.to_source(it.load(), it.name) for it in items if not isinstance(it, VideoItem)]
        sampler = ClipSampler(
            clips,
            stills,
            frames=self.video.frames,
            crop=self.cfg.train.crop,
            still_fraction=self.video.still_fraction,
            max_shift=self.video.max_shift,
            max_zoom=self.video.max_zoom,
        )
        ctx.log.tags(
            {
                "train_data": sampler.describe(),
                **start,
                "real_codec": (
                    f"{self.wrapped.method}'s codec ({self.wrapped.codec_name}) at its own QPs"
                    if self.wrapped
                    else f"{self.video.codec} low-delay P, QP = round(4 + 6 log2(step_inter))"
                ),
            }
        )
        hooks = video_hooks(self.coding, self.cfg.train, self.gamma, sampler, ctx.device, ctx.seed)
        self.result = train(
            self.model,
            self.cfg.train,
            self.gamma,
            [],
            device=ctx.device,
            seed=ctx.seed,
            workdir=folder,
            log=ctx.log,
            name=self.name,
            hooks=hooks,
            inputs=inputs,
        )
        self.model.eval()
        card.finish(self, ctx, folder, inputs, trained_now)

    def training_plan(self, ctx: PrepareContext) -> list[TrainingPlan]:
        return card.training_plan(self, ctx, {} if self.cfg.weights else self.train_inputs(ctx))

    def real_codec(self) -> Codec:
        return self.coding.real_video_codec()

    def calibration(self) -> list[Any]:
        """The per-QP rate calibration training used, as ``[[qp, {...}], ...]`` (JSON keeps no float keys)."""
        return [[p, c] for p, c in self.coding.calibration.items()]

    def restore_calibration(self, calibration: list[Any]) -> None:
        """A loaded model's rows carry the calibrated proxy rate its training used."""
        self.coding.calibration = {float(p): c for p, c in calibration}

    def train_inputs(self, ctx: PrepareContext) -> dict[str, Any]:
        """What the trained weights depend on (``sandwich.train.inputs_changed``): the clips' and stills'
        contents and the configuration training reads. ``video.init_from`` counts by its name, not by
        the starting weights' contents: a reused model no longer needs that file."""
        return plain(
            {
                "items": item_digests(ctx.train_items),
                "stills": item_digests(self.stills),
                "scenario": self.scenario.name,
                "gamma": self.gamma,
                "seed": ctx.seed,
                "method": self.cfg.model_dump(mode="json", exclude={"label", "step_factors"}),
            }
        )

    def run(self, source: Source, rate_point: float) -> ItemResult:
        frames, fps = source.frames, source.stream_fps()
        if self.result is None:
            raise RuntimeError(f"method {self.name!r} was not prepared (trained) before evaluation")
        qp = self.coding.real_qp(rate_point)
        b, t_pre = self._bottleneck(frames)
        t0 = time.perf_counter()
        recon, res, real_b = self.coding.code_clip(frames, qp, fps, self.device, b)
        t_post = time.perf_counter() - t0 - res.encode_s - res.decode_s
        frame_bits, proxy_b = self.coding.proxy_estimate(frames, b, qp)
        calibrated = self.coding.calibrated_bits(frame_bits, rate_point) if self.wrapped else None
        proxy = {
            "proxy_kbps": kbps(float(frame_bits.sum()) / 8, len(frames), fps),
            **({"proxy_kbps_calibrated": kbps(calibrated / 8, len(frames), fps)} if calibrated else {}),
            "proxy_b_psnr": float(np.mean([plane_psnr(r, p) for r, p in zip(real_b, proxy_b, strict=True)])),
        }
        return ItemResult(
            recon,
            res.nbytes,
            res.encode_s + t_pre,
            res.decode_s + t_post,
            res.command,
            {
                "qp": qp,
                "pre_s": t_pre,
                "post_s": t_post,
                "decode_command": res.extra["decode_command"],
                **frame_type_bytes(res.extra),
                **proxy,
            },
            bottleneck=b[0],
        )

    def describe(self) -> dict[str, Any]:
        r = self.result
        codec = self.coding.real_video_codec()
        return {
            "kind": "sandwich",
            "family": self.family,
            "gamma": self.gamma,
            "role": self.role,
            "codec": codec.name,
            "codec_options": codec.options(),
            "version": codec.version(),
            "proxy": {**self.model.proxy.config(), "kind": "video (I + motion-compensated P)"},
            "video": self.video.model_dump(mode="json"),
            **trained_description(self.cfg, self.model, r),
            **(self.coding.steps() if r and not self.wrapped else {}),
            **({"qp_at_factor_1": self.coding.real_qp() if r else None} if not self.wrapped else {}),
            **(
                {
                    "wraps": self.cfg.wraps,
                    "start": f"the {self.wrapped.method} path ({self.wrapped.adapt})",
                    "rate_calibration": {f"{p:g}": c for p, c in self.coding.calibration.items()},
                }
                if self.wrapped
                else {}
            ),
        }

    def complexity(self) -> dict[str, Any]:
        return pair_complexity(self.model.pre, self.model.post, self.model.spec.factor)

    def code_modules(self) -> tuple[str, ...]:
        """The nets, the codec, and the proxies whose estimates each row carries beside the real rate."""
        return (
            *class_modules(self),
            *class_modules(self.model),
            "sandwich.nets",
            "sandwich.train_clips",
            "bench.colour",
            "proxies",
            *(("sandwich.wrapped", "baselines.conventional", "baselines.resize") if self.wrapped else ()),
            *class_modules(self.coding.real_video_codec()),
        )
