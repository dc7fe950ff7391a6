"""A rough wall time for a run, before it starts (``bench run --dry-run``, the run's time left).

Why constants and not a timing: a dry run must not train or encode anything. The figures below
were measured once (session 10) on this project's 2-core CPU shared with four other jobs, so they
lean long: copies of experiments/rgb.yaml and video_gray.yaml (quick) cut to 2 eval items and a
dozen training steps (the per-cell times and ``it/s`` lines of ``bench run``), and the metrics by
scoring one Kodak image. x264 and av1-ld were not measured: they are x265's figure scaled by how
those encoders compare at their default presets. Everything scales with pixels only: other nets,
presets or a GPU move it, so what this gives is an estimate, good to a factor of two or three, and
always labelled so (rgb quick: 32 min estimated, 17.5 min measured alone in the README).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.config import (
    CodecMethodConfig,
    CompressAIMethodConfig,
    CompressAITrainConfig,
    MethodConfig,
    SandwichMethodConfig,
)
from bench.method import Method, TrainingPlan
from bench.plan import Plan

REFERENCE_PIXELS = 8 * 128 * 128  # a training step's batch x crop² the step costs below were measured at
STEP_S = {"sandwich": 0.95, "compressai": 0.3}  # slim U-Nets with the real codec in the loop; bmshj2018 64/96 ch
VIDEO_STEP_S = 1.65  # a video sandwich step, per frame of its clips, at the same pixels (x265 in the loop)
CODEC_S_PER_MPX = {"jpeg": 0.03, "jpeg12": 0.05, "hevc": 0.65, "av1": 0.8, "x264": 3.0, "x265": 5.0, "av1-ld": 8.0}
NETS_S_PER_MPX = 3.0  # a sandwich's f and g on the CPU (slim U-Nets), on top of its codec
COMPRESSAI_S_PER_MPX = 7.5  # a CompressAI model's analysis, synthesis and ANS coding on the CPU
METRIC_S_PER_MPX = {  # scoring one Kodak image (768 x 512) per metric
    "lpips-alex": 0.87,
    "lpips-vgg": 8.1,
    "ms-ssim-rgb": 0.49,
    "ms-ssim-rgb-db": 0.49,
    "vmaf": 0.19,
    "vmaf-neg": 0.18,
}
OTHER_METRIC_S_PER_MPX = 0.02  # the PSNRs


@dataclass(frozen=True)
class TrainingEstimate:
    """One method's models: what ``training_plan`` says, or, where it says nothing for a method that
    trains, its configured steps counted as training from the start (``known`` False)."""

    method: str
    plans: list[TrainingPlan]
    known: bool
    step_s: float

    @property
    def steps(self) -> int:
        return sum(p.steps for p in self.plans)

    @property
    def seconds(self) -> float:
        return self.steps * self.step_s


def method_config(plan: Plan, method: Method) -> MethodConfig:
    """The config entry a built method comes from (a sandwich member: its family's)."""
    return next(mc for mc in plan.cfg.methods if mc.name == (method.family or method.name))


def trains(method: Method) -> bool:
    """Whether the method does work in ``prepare`` (training or loading models)."""
    return type(method).prepare is not Method.prepare


def step_seconds(mc: MethodConfig) -> float:
    """Estimated seconds per training step of a learned method (0 for one that does not train)."""
    if isinstance(mc, SandwichMethodConfig):
        pixels = mc.train.batch * mc.train.crop**2 / REFERENCE_PIXELS
        return pixels * (VIDEO_STEP_S * mc.video.frames if mc.video is not None else STEP_S["sandwich"])
    if isinstance(mc, CompressAIMethodConfig) and mc.weights == "trained_here":
        train = mc.train or CompressAITrainConfig()
        return train.batch * train.crop**2 / REFERENCE_PIXELS * STEP_S["compressai"]
    return 0.0


def training_estimate(plan: Plan, method: Method, plans: list[TrainingPlan], workdir: Path) -> TrainingEstimate:
    """``plans`` as the method reports them; ``workdir`` is where a method that reports none trains."""
    mc = method_config(plan, method)
    step_s = step_seconds(mc)
    if plans or not step_s:
        return TrainingEstimate(method.name, plans, True, step_s)
    steps = mc.train.steps if isinstance(mc, SandwichMethodConfig) else 0
    return TrainingEstimate(method.name, [TrainingPlan(str(workdir), False, steps)], False, step_s)


def _codec_of(plan: Plan, mc: MethodConfig) -> str:
    if isinstance(mc, CodecMethodConfig):
        return mc.codec
    if isinstance(mc, SandwichMethodConfig) and mc.wraps is not None:
        wrapped = next(m for m in plan.cfg.methods if m.name == mc.wraps)
        return wrapped.codec if isinstance(wrapped, CodecMethodConfig) else "jpeg"
    if isinstance(mc, SandwichMethodConfig) and mc.video is not None:
        return mc.video.codec
    return "jpeg"


def cell_seconds(plan: Plan, method: Method) -> float:
    """Estimated seconds for one cell of ``method``: every eval item coded and scored once."""
    mc = method_config(plan, method)
    per_mpx = sum(METRIC_S_PER_MPX.get(k, OTHER_METRIC_S_PER_MPX) for k in plan.metrics)
    if isinstance(mc, CompressAIMethodConfig):
        per_mpx += COMPRESSAI_S_PER_MPX
    else:
        per_mpx += CODEC_S_PER_MPX.get(_codec_of(plan, mc), 1.0)
        per_mpx += NETS_S_PER_MPX if isinstance(mc, SandwichMethodConfig) else 0.0
    mpx = sum(src.frames.shape[0] * src.frames.shape[1] * src.frames.shape[2] for src in plan.sources.values()) / 1e6
    return per_mpx * mpx
