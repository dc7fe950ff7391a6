"""Real video codecs through ffmpeg, low-delay P at constant QP: ``x264``, ``x265``, ``av1``.

METHOD §6 protocol: IPPP (one I frame, then P frames predicting from the previous one), no
B-frames, one reference, loop filters on, the same QP on every frame (param = QP):

- ``x265``: ``qp=QP:ipratio=1:pbratio=1`` (x265 gives I slices QP - 6*log2(ipratio), default
  QP - 3; ratio 1 keeps the QP asked for), ``bframes=0:ref=1:rdoq-level=2:keyint=T:min-keyint=T:
  scenecut=0``, ``aq-mode=0`` (no per-CU QP offsets), ``info=0`` (no ~2 KB settings SEI).
  Deblocking and SAO stay on. QP 0..51.
- ``x264``: the same settings in x264's names (trellis is its RDOQ: preset default); x264 writes
  its settings as a user-data SEI that no decoder needs, so ``filter_units=remove_types=6``
  drops every SEI NAL unit before the rate is counted. Deblocking stays on. QP 0..51.
- ``av1``: libaom ``-usage good -lag-in-frames 0 -auto-alt-ref 0`` (no look-ahead, no hidden
  alt-ref frames: every frame is shown once, in order), key frame interval T, quantiser pinned
  as in ``bench.codecs.intra`` (``-crf QP -qmin QP -qmax QP``, ``aq-mode 0``, ``deltaq-mode=0``).
  AV1 cannot be held to one reference: libaom keeps at least 3 (``max-reference-frames``) and
  chooses among them per block. Loop filter, CDEF and restoration stay on. QP 0..63.

Input is ``T x H x W x C`` frames (converted and resampled like the intra codecs, see
``bench.codecs.planes``) or the codec's own planes, each ``T x h x w``, passed through
untouched (``Clip.planes`` of ``bench.video``). The rate is the elementary stream (Annex-B /
low-overhead OBUs: parameter sets and sequence header included, no container):
``kbps = 8 * bytes * fps / T / 1000`` at the sequence's real frame rate.
"""
from __future__ import annotations

import functools
import inspect
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from bench.codecs import planes as pl
from bench.codecs.ffmpeg_encoder import (FfmpegEncoder, check_aom_preset, check_channels, check_qp,
                                         check_x26x_preset, pix_fmt, round_trip)
from bench.codecs.ffmpeg_tools import ffmpeg_version, run_ffmpeg
from bench.colour import JFIF_NAME
from bench.registry import Registry

Video = np.ndarray | Sequence[np.ndarray]


def kbps(nbytes: int, n_frames: int, fps: Fraction | float) -> float:
    """Stream bit rate at the sequence's frame rate: 8 * bytes * fps / frames / 1000."""
    return 8.0 * nbytes * float(fps) / n_frames / 1000.0


@dataclass(frozen=True)
class VideoEncodeResult:
    """One real encode/decode of a sequence; ``decoded`` has the form the input had."""

    bitstream: bytes
    decoded: np.ndarray | tuple[np.ndarray, ...]
    kbps: float
    encode_s: float
    decode_s: float
    command: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return len(self.bitstream)


class VideoCodec(ABC):
    """A real video codec at a fixed configuration; ``encode`` takes the QP."""

    name: ClassVar[str]
    param_name = "qp"
    higher_param_is_better = False

    @abstractmethod
    def encode(self, video: Video, qp: float, bitdepth: int = 8,
               fps: Fraction | float = 25) -> VideoEncodeResult:
        """Encode all frames of ``video`` and decode them again with the real decoder."""

    @abstractmethod
    def check_param(self, param: float) -> None:
        """Raise ValueError, naming the valid range, for a QP this codec cannot take (checked at plan time)."""

    @abstractmethod
    def version(self) -> str:
        """The ffmpeg and encoder versions that actually run."""

    def options(self) -> dict[str, Any]:
        return {}

    def describe(self) -> dict[str, Any]:
        return {"codec": self.name, "param": self.param_name, "version": self.version(),
                **self.options()}


VIDEO_CODECS: Registry[type[VideoCodec]] = Registry("video codec")


def get_video_codec(name: str, **options: Any) -> VideoCodec:
    """The video codec ``name`` built with ``options``; an unknown option is a ValueError."""
    cls = VIDEO_CODECS.get(name)
    accepted = list(inspect.signature(cls).parameters)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"video codec {name!r} has no option {', '.join(map(repr, unknown))}; "
                         f"its options are: {', '.join(accepted) or '(none)'}")
    return cls(**options)


def _fps(fps: Fraction | float) -> Fraction:
    rate = Fraction(fps).limit_denominator(1001 * 1000)
    if rate <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return rate


class FfmpegVideoCodec(FfmpegEncoder, VideoCodec):
    """Shared path: input checks, planes, one ffmpeg encode + decode, rate and provenance."""

    @abstractmethod
    def _encoder_args(self, qp: int, n_frames: int) -> list[str]:
        """ffmpeg output options after ``-c:v <encoder>``: preset, QP, GOP, filters."""

    def _array_planes(self, frames: np.ndarray, bitdepth: int) -> list[np.ndarray]:
        """``T x H x W x C`` frames to codec planes (4:2:0 pads H, W to even by edge copies)."""
        if frames.ndim == 3:
            frames = frames[..., None]
        if frames.ndim != 4 or not all(frames.shape):
            raise ValueError(f"{self.name} needs T x H x W x C frames, got shape {frames.shape}")
        check_channels(self.name, bitdepth, self.chroma, frames.shape[3])
        src = pl.pad_to_even(frames) if self.chroma == "420" else frames
        return pl.to_planes(src, self.colour, self.chroma, bitdepth)

    def _check_planes(self, planes: Sequence[np.ndarray], bitdepth: int) -> list[np.ndarray]:
        """Planes handed over as they are: count, shapes and dtype must fit the chroma."""
        planes = [np.asarray(p) for p in planes]
        check_channels(self.name, bitdepth, self.chroma, len(planes))
        t, h, w = planes[0].shape if planes[0].ndim == 3 else (0, 0, 0)
        if self.chroma == "420" and (h % 2 or w % 2):
            raise ValueError(f"{self.name} 4:2:0 planes need an even luma size, got {w}x{h}; "
                             "crop or pad the clip first")
        sub = 2 if self.chroma == "420" else 1
        want = [(t, h, w)] + [(t, h // sub, w // sub)] * (len(planes) - 1)
        if not t or [p.shape for p in planes] != want:
            raise ValueError(f"{self.name} chroma {self.chroma!r} needs T x h x w planes shaped "
                             f"{want}, got {[p.shape for p in planes]}")
        return planes

    def encode(self, video: Video, qp: float, bitdepth: int = 8,
               fps: Fraction | float = 25) -> VideoEncodeResult:
        as_array = isinstance(video, np.ndarray)
        planes = (self._array_planes(video, bitdepth) if as_array
                  else self._check_planes(video, bitdepth))
        want = np.uint8 if bitdepth <= 8 else np.uint16
        if any(p.dtype != want for p in planes) or max(int(p.max()) for p in planes) >> bitdepth:
            raise ValueError(f"{self.name}: {bitdepth}-bit samples must be {np.dtype(want).name} "
                             f"below {1 << bitdepth}")
        q = check_qp(self.name, qp, self.max_qp)
        rate, (n, h, w) = _fps(fps), planes[0].shape
        fmt = pix_fmt(self.chroma, bitdepth)
        # our own RGB -> YCbCr is signalled; planes handed over keep the stream's colour unspecified
        converted = as_array and self.colour == "ycbcr"
        tags = ["-color_range", "pc", "-colorspace", "bt470bg"] if converted else []
        bitstream, decoded, run = round_trip(
            planes, fmt, name=self.name, encoder=self.encoder, muxer=self.muxer, qp=q,
            encoder_args=self._encoder_args(q, n), threads=self.threads,
            input_args=[*tags, "-framerate", f"{rate.numerator}/{rate.denominator}"])
        if as_array:
            th, tw = video.shape[1:3]
            out: np.ndarray | tuple[np.ndarray, ...] = np.ascontiguousarray(
                pl.from_planes(decoded, self.colour, self.chroma, bitdepth)[:, :th, :tw])
        else:
            out = tuple(p.copy() for p in decoded)  # writable, not views of a byte buffer
        extra = {"pix_fmt": fmt, "coded_size": [w, h], "frames": n, "fps": str(rate),
                 "decode_command": run["decode_command"], "gop": "IPPP (one I frame, low-delay P)",
                 "rate": "elementary stream bytes (no container)",
                 "colour": JFIF_NAME if converted else "none (planes coded as given)"}
        if as_array and self.chroma == "420":
            extra["chroma_filters"] = pl.CHROMA_FILTERS
        return VideoEncodeResult(bitstream, out, kbps(len(bitstream), n, rate), run["encode_s"],
                                 run["decode_s"], run["command"], extra)


_LOW_DELAY = ("bframes=0", "ref=1", "scenecut=0", "aq-mode=0", "ipratio=1", "pbratio=1")
_X26X_RESERVED = frozenset({"qp", "crf", "bitrate", "ipratio", "pbratio", "aq-mode", "bframes",
                            "ref", "keyint", "min-keyint", "scenecut"})


@VIDEO_CODECS.register("x265")
class X265Codec(FfmpegVideoCodec):
    """x265 HEVC, low-delay P at constant QP; ``preset`` is an x265 preset (default medium)."""

    name = "x265"
    encoder = "libx265"
    muxer = "hevc"
    max_qp = 51
    reserved = _X26X_RESERVED | {"rdoq-level", "info", "pools", "log-level"}
    version_pattern = r"HEVC encoder version (\S+)"

    def _check_preset(self, preset: str | int | None) -> str | int:
        return check_x26x_preset(self.name, preset)

    def _encoder_args(self, qp: int, n_frames: int) -> list[str]:
        own = [f"qp={qp}", *_LOW_DELAY, "rdoq-level=2", f"keyint={n_frames}",
               f"min-keyint={n_frames}", "info=0", f"pools={self.threads}", "log-level=warning"]
        return ["-preset", str(self.preset), "-x265-params", ":".join(own + self.params)]


@functools.cache
def x264_version() -> str:
    """x264's core version, read from the settings SEI of a tiny probe encode."""
    proc = run_ffmpeg(["-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "gray", "-s", "16x16",
                       "-i", "pipe:0", "-frames:v", "1", "-c:v", "libx264", "-f", "h264", "pipe:1"],
                      what="libx264", param="version probe", input_bytes=bytes(256))
    match = re.search(rb"x264 - core (\d+(?: r\d+ \w+)?)", proc.stdout)
    return f"libx264 core {match.group(1).decode()}" if match else "libx264 (version not reported)"


@VIDEO_CODECS.register("x264")
class X264Codec(FfmpegVideoCodec):
    """x264 H.264, low-delay P at constant QP; ``preset`` is an x264 preset (default medium)."""

    name = "x264"
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
        return ["-preset", str(self.preset), "-x264-params", ":".join(own + self.params),
                "-bsf:v", "filter_units=remove_types=6"]


@VIDEO_CODECS.register("av1")
class Av1VideoCodec(FfmpegVideoCodec):
    """libaom AV1, low-delay (no look-ahead) at a pinned quantiser; ``preset`` is cpu-used."""

    name = "av1"
    encoder = "libaom-av1"
    muxer = "obu"
    max_qp = 63
    reserved = frozenset({"end-usage", "cq-level", "min-q", "max-q", "target-bitrate", "aq-mode",
                          "deltaq-mode", "lag-in-frames", "auto-alt-ref", "kf-max-dist",
                          "kf-min-dist"})
    version_pattern = r"\[libaom-av1 @ \w+\] (v\d\S*)"

    def _check_preset(self, preset: str | int | None) -> str | int:
        return check_aom_preset(self.name, preset)

    def _encoder_args(self, qp: int, n_frames: int) -> list[str]:
        q, t = str(qp), str(n_frames)
        return ["-usage", "good", "-cpu-used", str(self.preset), "-lag-in-frames", "0",
                "-auto-alt-ref", "0", "-g", t, "-keyint_min", t, "-crf", q, "-b:v", "0",
                "-qmin", q, "-qmax", q, "-aq-mode", "0",
                "-aom-params", ":".join(["deltaq-mode=0", *self.params])]
