"""Single-image HEVC-intra (libx265, ``hevc``) and AV1-intra (libaom, ``av1``) through ffmpeg.

One frame, intra only, at a constant quantiser (param = QP):

- ``hevc``: x265 constant-QP mode, ``-x265-params qp=QP:ipratio=1:aq-mode=0:info=0``. x265 gives
  I slices QP - 6*log2(ipratio) (QP - 3 by default); ipratio=1 makes the slice QP equal QP, and
  info=0 drops x265's ~2 KB settings SEI, which would otherwise be counted as rate. QP 0..51.
- ``av1``: libaom ``-usage allintra`` in constant-quality mode (``-crf QP -b:v 0``) with the
  quantiser pinned (``-qmin QP -qmax QP``), ``-aq-mode 0`` and ``deltaq-mode=0``, so the frame's
  base_q_idx is libaom's quantizer_to_qindex[QP] (about 4*QP; QP 0 is lossless). QP 0..63.

The rate is the bytes of the elementary stream: Annex-B for HEVC (``-f hevc``: VPS/SPS/PPS +
slice), low-overhead OBUs for AV1 (``-f obu``: temporal delimiter, sequence header, frame);
no container. ``colour="ycbcr"`` converts RGB in numpy (``bench.codecs.planes``: BT.601 full
range, signalled as such in the stream); ``colour="raw"`` hands the channels over as the
codec's planes. For ``chroma="420"`` the image is edge-padded to even size and chroma is
resampled by us (box down, triangle up); x265 and libaom pad to their block sizes themselves.
Timings are the wall time of each ffmpeg process, start-up included. One frame per call (an image
is a one-frame clip); the low-delay P codecs of ``bench.codecs.low_delay`` code sequences.
"""

from __future__ import annotations

from bench.codecs.base import CODECS
from bench.codecs.ffmpeg_codec import FfmpegCodec, aom_pinned_quantiser, check_aom_preset, check_x26x_preset


@CODECS.register("hevc")
class HevcIntraCodec(FfmpegCodec):
    """x265 HEVC-intra at constant QP; ``preset`` is an x265 preset name (default medium)."""

    name = "hevc"
    inter = False
    encoder = "libx265"
    muxer = "hevc"
    max_qp = 51
    reserved = frozenset({"qp", "crf", "bitrate", "ipratio", "aq-mode", "info", "pools", "log-level"})
    version_pattern = r"HEVC encoder version (\S+)"

    def _check_preset(self, preset: str | int | None) -> str | int:
        return check_x26x_preset(self.name, preset)

    def _encoder_args(self, qp: int, n_frames: int) -> list[str]:
        own = [f"qp={qp}", "ipratio=1", "aq-mode=0", "info=0", f"pools={self.threads}", "log-level=warning"]
        return ["-preset", str(self.preset), "-x265-params", ":".join(own + self.params)]


@CODECS.register("av1")
class Av1IntraCodec(FfmpegCodec):
    """libaom AV1-intra (allintra usage) at a pinned quantiser; ``preset`` is cpu-used 0..8 (default 6)."""

    name = "av1"
    inter = False
    encoder = "libaom-av1"
    muxer = "obu"
    max_qp = 63
    reserved = frozenset({"end-usage", "cq-level", "min-q", "max-q", "target-bitrate", "aq-mode", "deltaq-mode"})
    version_pattern = r"\[libaom-av1 @ \w+\] (v\d\S*)"

    def _check_preset(self, preset: str | int | None) -> str | int:
        return check_aom_preset(self.name, preset)

    def _encoder_args(self, qp: int, n_frames: int) -> list[str]:
        return ["-usage", "allintra", "-cpu-used", str(self.preset), *aom_pinned_quantiser(qp, self.params)]
