"""What every ffmpeg-backed codec shares (HEVC/AV1 intra in ``intra``, x264/x265/AV1 low-delay P
in ``low_delay``): option checks, the one encode path and its ffmpeg round trip, provenance.

Each codec runs two ffmpeg processes: encode planes to an elementary stream (``-f hevc`` /
``-f h264`` / ``-f obu``, no container, so the rate is the stream's bytes) and decode that stream
back to raw planes with the real decoder.
"""

from __future__ import annotations

import functools
import re
import shlex
import subprocess
import tempfile
import time
from abc import abstractmethod
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bench.codecs.annexb import picture_bytes
from bench.codecs.base import Codec, EncodeResult, check_bitdepth
from bench.codecs.ffmpeg_tools import FIX_HINT, ffmpeg_version, has_encoder, run_ffmpeg
from bench.codecs.planes import CHROMA_FILTERS, from_planes, pad_to_even, to_planes
from bench.colour import JFIF_NAME
from bench.errors import BenchError, CodecError

CHROMAS = ("400", "420", "444")
COLOURS = ("ycbcr", "raw")
BITDEPTHS = (8, 10, 12)
X265_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)


def pix_fmt(chroma: str, bitdepth: int) -> str:
    """ffmpeg pixel format of planar ``chroma`` samples at ``bitdepth`` (little-endian > 8 bit)."""
    base = {"400": "gray", "420": "yuv420p", "444": "yuv444p"}[chroma]
    return base if bitdepth == 8 else f"{base}{bitdepth}le"


def parse_params(params: str, reserved: frozenset[str], codec: str) -> list[str]:
    """Split ``key=value:key=value`` and refuse the keys the wrapper sets itself."""
    items = [p for p in params.split(":") if p]
    for item in items:
        key = item.split("=", 1)[0]
        if "=" not in item or not key:
            raise ValueError(
                f"{codec} option 'params' must be key=value pairs joined by ':', got {item!r} in {params!r}"
            )
        if key in reserved:
            raise ValueError(
                f"{codec} option 'params' may not set {key!r}: the wrapper sets "
                f"{', '.join(sorted(reserved))} to keep the quantiser constant"
            )
    return items


def probe_encode(
    encoder: str, loglevel: str, output: list[str], extra: Sequence[str] = ()
) -> subprocess.CompletedProcess[bytes]:
    """One 16x16 gray frame through ``encoder`` (what the encoders' version probes read their logs or
    streams from); ``output`` is the muxer and destination, e.g. ``["-f", "null", "-"]``."""
    args = ["-loglevel", loglevel, "-f", "rawvideo", "-pix_fmt", "gray", "-s", "16x16", "-i", "pipe:0"]
    return run_ffmpeg(
        [*args, "-frames:v", "1", "-c:v", encoder, *extra, *output],
        what=encoder,
        param="version probe",
        input_bytes=bytes(256),
    )


@functools.cache
def encoder_version(encoder: str, pattern: str) -> str:
    """The encoder's own version, parsed once from its log on a tiny probe encode."""
    extra = ["-x265-params", "log-level=info"] if encoder == "libx265" else []
    proc = probe_encode(encoder, "verbose", ["-f", "null", "-"], extra)
    match = re.search(pattern, proc.stderr.decode(errors="replace"))
    return f"{encoder} {match.group(1)}" if match else f"{encoder} (version not reported)"


def aom_pinned_quantiser(qp: int, params: Sequence[str]) -> list[str]:
    """libaom held at one quantiser on every frame: crf = qmin = qmax = QP, no adaptive or delta QP."""
    pinned = f"-crf {qp} -b:v 0 -qmin {qp} -qmax {qp} -aq-mode 0".split()
    return [*pinned, "-aom-params", ":".join(["deltaq-mode=0", *params])]


def check_options(
    name: str, chroma: str | int, colour: str | None, params: str, threads: int, reserved: frozenset[str]
) -> tuple[str, str, list[str]]:
    """Validate the options every ffmpeg codec shares; return (chroma, colour, params list)."""
    chroma = str(chroma) if isinstance(chroma, int) else chroma  # YAML reads 420 as a number
    if chroma not in CHROMAS:
        raise ValueError(f"{name} option 'chroma' must be one of {CHROMAS}, got {chroma!r}")
    if chroma == "400":
        if colour not in (None, "raw"):
            raise ValueError(
                f"{name} option 'colour' must be 'raw' (or left out) for "
                f"chroma '400': the single channel is the luma plane"
            )
        colour = "raw"
    elif colour is None:
        colour = "ycbcr"
    elif colour not in COLOURS:
        raise ValueError(f"{name} option 'colour' must be one of {COLOURS}, got {colour!r}")
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"{name} option 'threads' must be an integer >= 1, got {threads!r}")
    if not isinstance(params, str):
        raise ValueError(f"{name} option 'params' must be a string, got {params!r}")
    return chroma, colour, parse_params(params, reserved, name)


def check_x26x_preset(name: str, preset: str | int | None) -> str:
    """An x264/x265 preset name (both encoders share the list), default medium."""
    if preset is None:
        return "medium"
    if preset not in X265_PRESETS:
        raise ValueError(f"{name} option 'preset' must be one of {X265_PRESETS}, got {preset!r}")
    return str(preset)


def check_aom_preset(name: str, preset: str | int | None) -> int:
    """libaom cpu-used 0..8, default 6."""
    if preset is None:
        return 6
    if not isinstance(preset, int) or isinstance(preset, bool) or not 0 <= preset <= 8:
        raise ValueError(f"{name} option 'preset' is libaom cpu-used, an integer 0..8, got {preset!r}")
    return preset


def check_qp(name: str, param: float, max_qp: int) -> int:
    if not float(param).is_integer() or not 0 <= param <= max_qp:
        raise ValueError(f"{name} qp must be an integer in 0..{max_qp}, got {param:.12g}")
    return int(param)


def check_channels(name: str, bitdepth: int, chroma: str, channels: int) -> None:
    """Refuse a bit depth the encoders do not take, or a channel count the chroma cannot hold."""
    if bitdepth not in BITDEPTHS:
        raise ValueError(
            f"{name} codes {BITDEPTHS}-bit samples, got bitdepth {bitdepth}; shift the image to one of them first"
        )
    want = 1 if chroma == "400" else 3
    if channels != want:
        raise ValueError(f"{name} chroma {chroma!r} needs {want}-channel input, got {channels} channels")


def run_encoder(args: list[str], name: str, encoder: str, qp: int | str) -> str:
    """Run ffmpeg; a failure names the codec, the QP and the encoder's own complaints.

    libx265 and libx264 only warn about unknown or invalid parameters and encode without them,
    so those warnings are errors here. Returns the command line that ran.
    """
    try:
        proc = run_ffmpeg(args, what=name, param=f"qp={qp}")
    except CodecError as exc:
        said = [ln for ln in exc.stderr.splitlines() if encoder in ln or "x265 [" in ln]
        detail = "; ".join(ln.split("] ", 1)[-1] for ln in said) or "ffmpeg failed"
        raise CodecError(name, f"qp={qp}", detail, exc.stderr) from None
    stderr = proc.stderr.decode(errors="replace")
    ignored = re.findall(r"(Unknown option: .*|Invalid value for .*|Error parsing option .*)", stderr)
    if ignored:
        raise CodecError(name, f"qp={qp}", f"{encoder} ignored parameters: " + "; ".join(ignored), stderr)
    return shlex.join(str(a) for a in proc.args)


def round_trip(
    planes: list[np.ndarray],
    fmt: str,
    *,
    name: str,
    encoder: str,
    muxer: str,
    qp: int,
    encoder_args: Sequence[str],
    threads: int,
    input_args: Sequence[str] = (),
) -> tuple[bytes, list[np.ndarray], dict[str, Any]]:
    """Encode ``T x h x w`` planes to an elementary stream and decode it back, in a temp folder.

    ``input_args`` go before ``-i`` (colour tags, frame rate); ``encoder_args`` after
    ``-c:v <encoder>`` (QP, preset, bitstream filters). Returns the stream, the decoded planes
    in the input's shapes and dtype, and the commands and wall times of both ffmpeg runs.
    """
    dtype = planes[0].dtype.newbyteorder("<")
    frames, ph, pw = planes[0].shape
    with tempfile.TemporaryDirectory(prefix=f"sandwich-{name}-") as tmp:
        raw_in, stream = Path(tmp) / "in.yuv", Path(tmp) / f"out.{muxer}"
        flat = [p.astype(dtype).reshape(frames, -1) for p in planes]
        raw_in.write_bytes(np.concatenate(flat, axis=1).tobytes())  # frame by frame: Y U V
        t0 = time.perf_counter()
        command = run_encoder(
            [
                "-loglevel",
                "warning",
                "-f",
                "rawvideo",
                "-pix_fmt",
                fmt,
                "-s",
                f"{pw}x{ph}",
                *input_args,
                "-i",
                f"file:{raw_in}",
                "-frames:v",
                str(frames),
                "-an",
                "-c:v",
                encoder,
                *encoder_args,
                "-threads",
                str(threads),
                "-f",
                muxer,
                f"file:{stream}",
            ],
            name,
            encoder,
            qp,
        )
        t1 = time.perf_counter()
        bitstream = stream.read_bytes()
        if not bitstream:
            raise CodecError(name, f"qp={qp}", "the encoder wrote an empty stream")
        decoded, decode_command = decode_stream(
            stream, fmt, [p.shape for p in planes], dtype, name=name, encoder=encoder, threads=threads, qp=qp
        )
        t2 = time.perf_counter()
    run = {"command": command, "decode_command": decode_command, "encode_s": t1 - t0, "decode_s": t2 - t1}
    return bitstream, decoded, run


def decode_stream(
    stream: Path,
    fmt: str,
    shapes: Sequence[tuple[int, ...]],
    dtype: np.dtype[Any],
    *,
    name: str,
    encoder: str,
    threads: int = 2,
    qp: int | str = "?",
) -> tuple[list[np.ndarray], str]:
    """Decode an elementary stream with ffmpeg into planes of ``shapes`` (T x h x w each); returns the
    planes and the command. A decoder that drops or repeats frames fails here rather than shifting
    the metrics."""
    with tempfile.TemporaryDirectory(prefix=f"sandwich-{name}-dec-") as tmp:
        raw_out = Path(tmp) / "dec.yuv"
        command = run_encoder(
            ["-loglevel", "warning", "-threads", str(threads), "-i", f"file:{stream}"]
            + ["-f", "rawvideo", "-pix_fmt", fmt, f"file:{raw_out}"],
            name,
            encoder,
            qp,
        )
        raw = np.frombuffer(raw_out.read_bytes(), dtype=dtype)
    frames = shapes[0][0]
    sizes = [int(np.prod(s[1:])) for s in shapes]
    if raw.size != frames * sum(sizes):
        raise CodecError(
            name, f"qp={qp}", f"decoded {raw.size} samples, expected {frames} frames of {sum(sizes)} samples"
        )
    chunks = np.split(raw.reshape(frames, -1), np.cumsum(sizes)[:-1], axis=1)
    return [c.reshape(s) for c, s in zip(chunks, shapes, strict=True)], command


def _fps(fps: Fraction | float) -> Fraction:
    rate = Fraction(fps).limit_denominator(1001 * 1000)
    if rate <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return rate


class FfmpegCodec(Codec):
    """One ffmpeg encoder at a fixed configuration: options, versions and the one encode path.

    Frames go through :mod:`bench.codecs.planes` (colour, 4:2:0, padding); planes are coded as
    given. An inter codec's stream carries the frame rate (``-framerate``); an intra codec's the
    ffmpeg default, so its single frame codes as it always has."""

    encoder: ClassVar[str]
    muxer: ClassVar[str]
    max_qp: ClassVar[int]
    reserved: ClassVar[frozenset[str]]
    version_pattern: ClassVar[str]
    param_name = "qp"
    higher_param_is_better = False

    def __init__(
        self,
        chroma: str = "420",
        colour: str | None = None,
        preset: str | int | None = None,
        params: str = "",
        threads: int = 2,
    ) -> None:
        self.chroma, self.colour, self.params = check_options(self.name, chroma, colour, params, threads, self.reserved)
        self.threads = threads
        self.preset = self._check_preset(preset)
        if not has_encoder(self.encoder):
            raise BenchError(f"this ffmpeg has no {self.encoder} encoder ({self.name!r}); {FIX_HINT}")

    @abstractmethod
    def _check_preset(self, preset: str | int | None) -> str | int:
        """Validate ``preset`` and return it, or the default when None."""

    @abstractmethod
    def _encoder_args(self, qp: int, n_frames: int) -> list[str]:
        """ffmpeg output options after ``-c:v <encoder>``: preset, QP, GOP, filters."""

    def check_param(self, param: float) -> None:
        check_qp(self.name, param, self.max_qp)

    def options(self) -> dict[str, Any]:
        return {
            "chroma": self.chroma,
            "colour": self.colour,
            "preset": self.preset,
            "params": ":".join(self.params),
            "threads": self.threads,
        }

    def version(self) -> str:
        return f"{ffmpeg_version()}; {encoder_version(self.encoder, self.version_pattern)}"

    def decode_bytes(self, data: bytes, size: tuple[int, int, int], bitdepth: int = 8) -> np.ndarray:
        """``T x H x W x C`` frames of a stream this codec wrote from frames of ``size`` (T, H, W):
        ffmpeg's decoder, then the planes back to frames as the encode path does."""
        t, h, w = size
        ph, pw = (h + h % 2, w + w % 2) if self.chroma == "420" else (h, w)
        sub = 2 if self.chroma == "420" else 1
        shapes = [(t, ph, pw)] + [(t, ph // sub, pw // sub)] * (0 if self.chroma == "400" else 2)
        dtype = np.dtype(np.uint8 if bitdepth <= 8 else "<u2")
        with tempfile.TemporaryDirectory(prefix=f"sandwich-{self.name}-file-") as tmp:
            stream = Path(tmp) / f"in.{self.muxer}"
            stream.write_bytes(data)
            planes, _ = decode_stream(
                stream,
                pix_fmt(self.chroma, bitdepth),
                shapes,
                dtype,
                name=self.name,
                encoder=self.encoder,
                threads=self.threads,
            )
        return np.ascontiguousarray(from_planes(planes, self.colour, self.chroma, bitdepth)[:, :h, :w])

    def _array_planes(self, frames: np.ndarray, bitdepth: int) -> list[np.ndarray]:
        """``T x H x W x C`` frames to codec planes (4:2:0 pads H, W to even by edge copies)."""
        if not all(frames.shape):
            raise ValueError(f"{self.name} needs T x H x W x C frames, got shape {frames.shape}")
        check_channels(self.name, bitdepth, self.chroma, frames.shape[3])
        check_bitdepth(frames, bitdepth)
        src = pad_to_even(frames) if self.chroma == "420" else frames
        return to_planes(src, self.colour, self.chroma, bitdepth)

    def _check_planes(self, planes: Sequence[np.ndarray], bitdepth: int) -> list[np.ndarray]:
        """Planes handed over as they are: count, shapes, dtype and values must fit."""
        planes = [np.asarray(p) for p in planes]
        check_channels(self.name, bitdepth, self.chroma, len(planes))
        t, h, w = planes[0].shape if planes[0].ndim == 3 else (0, 0, 0)
        if self.chroma == "420" and (h % 2 or w % 2):
            raise ValueError(
                f"{self.name} 4:2:0 planes need an even luma size, got {w}x{h}; crop or pad the clip first"
            )
        sub = 2 if self.chroma == "420" else 1
        want = [(t, h, w)] + [(t, h // sub, w // sub)] * (len(planes) - 1)
        if not t or [p.shape for p in planes] != want:
            raise ValueError(
                f"{self.name} chroma {self.chroma!r} needs T x h x w planes shaped "
                f"{want}, got {[p.shape for p in planes]}"
            )
        dtype = np.uint8 if bitdepth <= 8 else np.uint16
        if any(p.dtype != dtype for p in planes) or max(int(p.max()) for p in planes) >> bitdepth:
            raise ValueError(
                f"{self.name}: {bitdepth}-bit samples must be {np.dtype(dtype).name} below {1 << bitdepth}"
            )
        return planes

    def _encode(
        self, frames: np.ndarray | Sequence[np.ndarray], param: float, bitdepth: int, fps: Fraction | float
    ) -> EncodeResult[Any]:
        # our own RGB -> YCbCr is signalled; planes handed over keep the stream's colour unspecified
        if isinstance(frames, np.ndarray):
            planes, converted = self._array_planes(frames, bitdepth), self.colour == "ycbcr"
        else:
            planes, converted = self._check_planes(frames, bitdepth), False
        q = check_qp(self.name, param, self.max_qp)
        rate, (n, h, w) = _fps(fps), planes[0].shape
        fmt = pix_fmt(self.chroma, bitdepth)
        input_args = ["-color_range", "pc", "-colorspace", "bt470bg"] if converted else []
        if self.inter:
            input_args += ["-framerate", f"{rate.numerator}/{rate.denominator}"]
        bitstream, decoded, run = round_trip(
            planes,
            fmt,
            name=self.name,
            encoder=self.encoder,
            muxer=self.muxer,
            qp=q,
            encoder_args=self._encoder_args(q, n),
            threads=self.threads,
            input_args=input_args,
        )
        out: np.ndarray | tuple[np.ndarray, ...]
        if isinstance(frames, np.ndarray):
            th, tw = frames.shape[1:3]
            whole = from_planes(decoded, self.colour, self.chroma, bitdepth)
            out = np.ascontiguousarray(whole[:, :th, :tw])
            size = (n, th, tw)
        else:
            out = tuple(p.copy() for p in decoded)  # writable, not views of a byte buffer
            size = (n, h, w)
        extra: dict[str, Any] = {"pix_fmt": fmt, "coded_size": [w, h]}
        if self.inter:
            extra.update(frames=n, fps=str(rate))
        extra["decode_command"] = run["decode_command"]
        if self.inter:
            extra.update(gop="IPPP (one I frame, low-delay P)", rate="elementary stream bytes (no container)")
            if self.muxer in ("hevc", "h264"):  # Annex-B: the I picture's and each P picture's bytes
                extra["picture_bytes"] = picture_bytes(bitstream, "hevc" if self.muxer == "hevc" else "h264")
        extra["colour"] = (
            JFIF_NAME if converted else "none (planes coded as given)" if self.inter else "none (raw planes)"
        )
        if isinstance(frames, np.ndarray) and self.chroma == "420":
            extra["chroma_filters"] = CHROMA_FILTERS
        return EncodeResult(bitstream, out, run["encode_s"], run["decode_s"], run["command"], size, extra)
