"""The video sandwich: the image sandwich's per-frame f and g around a video codec.

Guleryuz et al., arXiv 2402.05887, §IV-D and Fig. 6; METHOD §4, §6 (scenarios 8-11). f and g are
the same :class:`~sandwich.nets.processor.Processor` nets, applied frame by frame; only the codec in
the middle changes: in training :class:`~proxies.video_proxy.VideoProxy` (I frame + motion-
compensated P frames, with source flow), at evaluation a real low-delay-P encoder (x265 by default)
at QP = round(4 + 6·log2 Δ) (``proxies.calibration.step_to_qp``, HEVC's Qstep = 2^((QP-4)/6)), where
Δ is the trained P-frame (residual) step: x265 codes every frame at one QP here (ipratio=1), and P
frames are all but one. 1-channel bottlenecks go as 4:0:0 streams, 3-channel ones as 4:4:4 planes
with no colour transform, unless the scenario's bottleneck has ``colour: ycbcr`` (perceptual): then
the codec converts B itself (JFIF BT.601 full range, 4:4:4) as plain x265 4:4:4 does, and the proxy
models that conversion.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from bench.checkpoint import load_checkpoint
from bench.codecs import CODECS, Codec, EncodeResult
from bench.config import SandwichMethodConfig, VideoSandwichConfig
from bench.scenarios import Scenario
from proxies.calibration import qp_to_step, step_to_qp
from proxies.flow import sequence_flow
from proxies.video_proxy import VideoProxy
from sandwich.model import Sandwich, bottleneck_of
from sandwich.train_clips import luma8
from sandwich.wrapped import WrappedCodec


def video_sandwich(
    scenario: Scenario,
    cfg: SandwichMethodConfig,
    source_channels: int,
    step: float,
    wrapped: WrappedCodec | None = None,
) -> Sandwich:
    """The image sandwich's f and g around :class:`~proxies.video_proxy.VideoProxy`: Δ_I = Δ_P = ``step``
    to learn, or the wrapped x265/x264 method's QP step per rate point, its chroma format and colour."""
    spec = bottleneck_of(scenario)
    if spec.subsampling != "444" or spec.shift:
        raise ValueError(f"scenario {scenario.name!r}: the video proxy codes 8-bit 4:4:4 or 4:0:0 bottlenecks")
    if wrapped is not None and not wrapped.inter:
        raise ValueError(f"wraps: {wrapped.method!r} is an image codec; a video sandwich wraps x265 or x264")
    proxy = VideoProxy(
        step,
        step,
        quantizer=cfg.proxy.quantizer,
        rate=cfg.proxy.rate,
        learn_step=cfg.proxy.learn_step and wrapped is None,
        colour=spec.colour if wrapped is None else wrapped.colour,
    )
    return Sandwich(scenario, cfg, source_channels, proxy, wrapped)


class VideoCoding:
    """A video sandwich's real-codec side: the QP its trained Δ maps to, whole clips through the real
    low-delay codec, and the training proxy's estimate for the same clip (to measure the proxy)."""

    def __init__(self, model: Sandwich, video: VideoSandwichConfig) -> None:
        self.model, self.video = model, video
        # a wrapping sandwich's per-QP rate calibration and codec slope (``video_train.anchor_calibration``)
        self.calibration: dict[float, dict[str, float]] = {}

    def _proxy(self) -> VideoProxy:
        if not isinstance(self.model.proxy, VideoProxy):
            raise TypeError(f"a video sandwich trains through a VideoProxy, not {type(self.model.proxy).__name__}")
        return self.model.proxy

    def steps(self) -> dict[str, float]:
        return {"step_intra": float(self._proxy().intra.step_size().detach()), "step_inter": self.model.trained_step()}

    def real_qp(self, rate_point: float | None = None) -> int:
        """The real codec's QP at a rate point: a wrapped codec's own QP (the conditioned nets are set to
        it), else round(4 + 6·log2(Δ·step factor)) around the trained Δ. None: where training checks."""
        if self.model.wrapped is not None:
            if rate_point is not None:
                self.model.rate_point = rate_point
            if self.model.rate_point is None:
                raise ValueError("a wrapping sandwich needs a rate point (QP) to code at")
            return int(self.model.rate_point)
        return step_to_qp(self.model.trained_step() * (1.0 if rate_point is None else rate_point))

    def real_video_codec(self) -> Codec:
        if self.model.wrapped is not None:
            return self.model.wrapped.codec()
        chroma = "400" if self.model.bottleneck_channels == 1 else "444"
        colour = {} if chroma == "400" else {"colour": "ycbcr" if self.model.spec.colour == "ycbcr" else "raw"}
        return CODECS.build(self.video.codec, chroma=chroma, **colour, **self.video.codec_options)

    def bottleneck_frames(self, frames: np.ndarray, device: str = "cpu") -> np.ndarray:
        """``T x h x w x C_b`` uint8 neural code frames of ``T x H x W x 3`` source frames."""
        return np.stack([self.model.bottleneck_image(f, device) for f in frames])

    def code_clip(
        self, frames: np.ndarray, qp: int, fps: Fraction, device: str = "cpu", b: np.ndarray | None = None
    ) -> tuple[np.ndarray, EncodeResult[np.ndarray], np.ndarray]:
        """(Ŝ frames, the real encode, the decoded B̂ frames) for one clip through the real codec at ``qp``;
        B is computed unless given."""
        b = self.bottleneck_frames(frames, device) if b is None else b
        res = self.real_video_codec().encode(b, qp, 8, fps)
        recon = np.stack([self.model.reconstruct(d, frames.shape[1:3], device) for d in res.decoded])
        return recon, res, res.decoded

    def proxy_estimate(self, frames: np.ndarray, b: np.ndarray, qp: int) -> tuple[np.ndarray, np.ndarray]:
        """(bits per frame, decoded B) the training proxy predicts for one clip at the real codec's ``qp``.

        Both proxy steps are HEVC's Qstep of ``qp`` (the real encode uses one QP for every frame), the
        rate model is the one training used and the flow is DIS on the source luma, as in training.
        Only compared with the real encode (METHOD: the proxy's error is measured, never reported as
        a result)."""
        step = qp_to_step(qp)
        trained = self._proxy()
        proxy = VideoProxy(
            step,
            step,
            quantizer=trained.intra.quantizer,
            rate=trained.intra.rate,
            learn_step=False,
            colour=trained.colour,
        ).eval()
        flow = torch.from_numpy(sequence_flow(luma8(frames)))[None]
        x = torch.from_numpy(b.astype(np.float32)).permute(0, 3, 1, 2)[None]
        with torch.inference_mode():
            out = proxy(x, flow)
        return out.frame_bits[0].double().numpy(), out.recon[0].permute(0, 2, 3, 1).numpy().astype(np.uint8)

    def calibrated_bits(self, frame_bits: np.ndarray, rate_point: float) -> float | None:
        """The proxy's bits of one clip counted as the wrapped codec's (its I- and P-frame ratios at
        that QP, :func:`sandwich.video_train.anchor_calibration`); None before calibration."""
        c = self.calibration.get(rate_point)
        if c is None:
            return None
        return float(c["intra_ratio"] * frame_bits[0] + c["inter_ratio"] * frame_bits[1:].sum())

    def load_image_checkpoint(self, path: Path) -> list[str]:
        """Start f and g from an image sandwich's ``final.pt``; returns the tensors taken."""
        state = load_checkpoint(path)
        weights = state.get("model", state) if isinstance(state, dict) else None
        if not isinstance(weights, dict):
            raise ValueError(f"{path} holds no model state dict")
        own = self.model.state_dict()
        taken = {k: v for k, v in weights.items() if k.split(".")[0] in ("pre", "post")}
        wrong = [k for k, v in taken.items() if k not in own or own[k].shape != v.shape]
        if wrong or not taken:
            raise ValueError(
                f"{path} does not fit this sandwich's pre/post nets ({len(wrong)} mismatched tensors, "
                f"e.g. {wrong[:3]}); use a checkpoint of the same scenario and net sizes"
            )
        self.model.load_state_dict({**own, **taken})
        return sorted(taken)
