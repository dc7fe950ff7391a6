"""Video codec methods: a whole clip in, the real stream's bytes and the decoded frames out.

The stream is one low-delay-P encode of all frames (``T x H x W x 3`` uint8 RGB), so the rate
(kbps) needs the clip's real frame rate, which its :class:`~bench.source.Source` carries.

:class:`VideoCodecMethod` is the plain codec with the conventional adaptations, frame by frame
(the helpers of ``baselines.conventional`` and ``baselines.resize``):

- ``none``: RGB through the codec's own YCbCr at ``chroma`` (4:2:0 / 4:4:4);
- ``luma``: BT.601 full-range luma as a 4:0:0 stream, reconstructed as gray replicated to RGB;
- ``half_bicubic`` / ``half_lanczos``: bicubic antialiased ↓2 per frame, the codec, bicubic or
  Lanczos3 ↑2 per frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines import resize
from baselines.conventional import rgb_to_luma
from bench.codecs import CODECS, frame_type_bytes
from bench.config import CodecMethodConfig
from bench.method import ItemResult, Method, class_modules
from bench.source import Source

VIDEO_ADAPTS = ("none", "luma", "half_bicubic", "half_lanczos")


class VideoCodecMethod(Method):
    def __init__(self, cfg: CodecMethodConfig) -> None:
        if cfg.adapt not in VIDEO_ADAPTS:
            raise ValueError(f"adapt {cfg.adapt!r} is not for video; choose from: {', '.join(VIDEO_ADAPTS)}")
        self.cfg = cfg
        self.name, self.role = cfg.name, cfg.role
        self.label = cfg.label or cfg.name
        self.codec = CODECS.build(cfg.codec, **cfg.options)
        if (cfg.adapt == "luma") != (self.codec.options().get("chroma") == "400"):
            raise ValueError("adapt 'luma' and options chroma '400' go together (a 4:0:0 stream carries the luma only)")

    def rate_points(self) -> list[float]:
        return list(self.cfg.rate_points)

    def run(self, source: Source, rate_point: float) -> ItemResult:
        frames, fps = source.frames, source.stream_fps()
        adapt, (h, w) = self.cfg.adapt, frames.shape[1:3]
        if adapt == "luma":
            coded = rgb_to_luma(frames, 8)
        elif adapt.startswith("half_"):
            coded = np.stack([resize.down(f, 2, "bicubic") for f in frames])
        else:
            coded = frames
        res = self.codec.encode(coded, rate_point, 8, fps)
        decoded = res.decoded
        if adapt == "luma":
            decoded = np.repeat(decoded, 3, axis=3)
        elif adapt.startswith("half_"):
            kernel = adapt.removeprefix("half_")
            decoded = np.stack([resize.up(f, 2, (h, w), kernel) for f in decoded])
        extra = {
            "qp": int(rate_point),
            "kbps": res.kbps(fps),
            "decode_command": res.extra["decode_command"],
            "coded_size": "x".join(map(str, res.extra["coded_size"])),
            **frame_type_bytes(res.extra),
        }
        return ItemResult(decoded, res.nbytes, res.encode_s, res.decode_s, res.command, extra)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "codec",
            "adapt": self.cfg.adapt,
            **self.codec.describe(),
            "gop": "IPPP (one I frame, low-delay P)",
            "rate": "elementary stream bytes x fps / frames",
        }

    def code_modules(self) -> tuple[str, ...]:
        return (
            *class_modules(self),
            "baselines.conventional",
            "baselines.resize",
            "bench.colour",
            *class_modules(self.codec),
        )
