"""Real video codecs through ffmpeg, low-delay P at constant QP: ``x264``, ``x265``, ``av1-ld``.

METHOD §6 protocol: IPPP (one I frame, then P frames predicting from the previous one), no
B-frames, one reference, loop filters on, the same QP on every frame (param = QP):

- ``x265``: ``qp=QP:ipratio=1:pbratio=1`` (x265 gives I slices QP - 6*log2(ipratio), default
  QP - 3; ratio 1 keeps the QP asked for), ``bframes=0:ref=1:rdoq-level=2:keyint=T:min-keyint=T:
  scenecut=0``, ``aq-mode=0`` (no per-CU QP offsets), ``info=0`` (no ~2 KB settings SEI),
  ``frame-threads=1`` (with frame-parallel encoding the same input gave streams a few bytes apart
  from run to run, measured; rows still run in parallel, WPP). Deblocking and SAO stay on. QP 0..51.
- ``x264``: the same settings in x264's names (trellis is its RDOQ: preset default); x264 writes
  its settings as a user-data SEI that no decoder needs, so ``filter_units=remove_types=6``
  drops every SEI NAL unit before the rate is counted. Deblocking stays on. QP 0..51.
- ``av1-ld``: libaom ``-usage good -lag-in-frames 0 -auto-alt-ref 0`` (no look-ahead, no hidden
  alt-ref frames: every frame is shown once, in order), key frame interval T, quantiser pinned
  as in ``bench.codecs.intra`` (``-crf QP -qmin QP -qmax QP``, ``aq-mode 0``, ``deltaq-mode=0``).
  AV1 cannot be held to one reference: libaom keeps at least 3 (``max-reference-frames``) and
  chooses among them per block. Loop filter, CDEF and restoration stay on. QP 0..63.

Input is ``T x H x W x C`` frames (converted and resampled like the intra codecs, see
``bench.codecs.planes``) or the codec's own planes, each ``T x h x w``, passed through
untouched (``Clip.planes`` of ``bench.video``). The rate is the elementary stream (Annex-B /
low-overhead OBUs: parameter sets and sequence header included, no container):
``EncodeResult.kbps(fps)`` = 8 * bytes * fps / T / 1000 at the sequence's real frame rate, the
one the stream carries.
"""

from __future__ import annotations

import functools
import re

from bench.codecs.base import CODECS
from bench.codecs.ffmpeg_codec import (
    FfmpegCodec,
    aom_pinned_quantiser,
    check_aom_preset,
    check_x26x_preset,
    probe_encode,
)
from bench.codecs.ffmpeg_tools import ffmpeg_version

_LOW_DELAY = ("bframes=0", "ref=1", "scenecut=0", "aq-mode=0", "ipratio=1", "pbratio=1")
_X26X_RESERVED = frozenset(
    {"qp", "crf", "bitrate", "ipratio", "pbratio", "aq-mode", "bframes", "ref", "keyint", "min-keyint", "scenecut"}
)


@CODECS.register("x265")
class X265Codec(FfmpegCodec):
    """x265 HEVC, low-delay P at constant QP; ``preset`` is an x265 preset (default medium)."""

    name = "x265"
    inter = True
    encoder = "libx265"
    muxer = "hevc"
    max_qp = 51
    reserved = _X26X_RESERVED | {"rdoq-level", "info", "pools", "frame-threads", "log-level"}
    version_pattern = r"HEVC encoder version (\S+)"

    def _check_preset(self, preset: str | int | None) -> str | int:
        return check_x26x_preset(self.name, preset)

    def _encoder_args(self, qp: int, n_frames: int) -> list[str]:
        own = [
            f"qp={qp}",
            *_LOW_DELAY,
            "rdoq-level=2",
            f"keyint={n_frames}",
            f"min-keyint={n_frames}",
            "info=0",
            f"pools={self.threads}",
            "frame-threads=1",  # frame-parallel encodes differ by a few bytes from run to run (measured)
            "log-level=warning",
        ]
        return ["-preset", str(self.preset), "-x265-params", ":".join(own + self.params)]


@functools.cache
def x264_version() -> str:
    """x264's core version, read from the settings SEI of a tiny probe encode."""
    proc = probe_encode("libx264", "error", ["-f", "h264", "pipe:1"])
    match = re.search(rb"x264 - core (\d+(?: r\d+ \w+)?)", proc.stdout)
    return f"libx264 core {match.group(1).decode()}" if match else "libx264 (version not reported)"


@CODECS.register("x264")
class X264Codec(FfmpegCodec):
    """x264 H.264, low-delay P at constant QP; ``preset`` is an x264 preset (default medium)."""

    name = "x264"
    inter = True
    encoder = "libx264"
    muxer = "h264"
    max_qp = 51
    reserved = _X26X_RESERVED
    version_pattern = ""  # x264 does not log it; read from its SEI instead (see version)

    def version(self) -> str:
        return f"{ffmpeg_version()}; {x264_version()}"

    def _check_preset(self, preset: str | int | None) -> str | int:
        return check_x26x_preset(self.name, preset)

    def _encoder_args(self, qp: int, n_frames: int) -> list[str]:
        own = [f"qp={qp}", *_LOW_DELAY, f"keyint={n_frames}", f"min-keyint={n_frames}"]
        return [
            "-preset",
            str(self.preset),
            "-x264-params",
            ":".join(own + self.params),
            "-bsf:v",
            "filter_units=remove_types=6",
        ]


@CODECS.register("av1-ld")
class Av1LowDelayCodec(FfmpegCodec):
    """libaom AV1, low-delay (no look-ahead) at a pinned quantiser; ``preset`` is cpu-used."""

    name = "av1-ld"
    inter = True
    encoder = "libaom-av1"
    muxer = "obu"
    max_qp = 63
    reserved = frozenset(
        {
            "end-usage",
            "cq-level",
            "min-q",
            "max-q",
            "target-bitrate",
            "aq-mode",
            "deltaq-mode",
            "lag-in-frames",
            "auto-alt-ref",
            "kf-max-dist",
            "kf-min-dist",
        }
    )
    version_pattern = r"\[libaom-av1 @ \w+\] (v\d\S*)"

    def _check_preset(self, preset: str | int | None) -> str | int:
        return check_aom_preset(self.name, preset)

    def _encoder_args(self, qp: int, n_frames: int) -> list[str]:
        t = str(n_frames)
        no_lookahead = ["-lag-in-frames", "0", "-auto-alt-ref", "0", "-g", t, "-keyint_min", t]
        own = ["-usage", "good", "-cpu-used", str(self.preset), *no_lookahead]
        return [*own, *aom_pinned_quantiser(qp, self.params)]
