"""Sandwich-coded files: the bottleneck as a standard bitstream that any decoder plays, plus what the
receiver needs to apply the post-processor.

A JPEG carries that in a COM segment, which every decoder skips: the file stays self-contained, and
its size is the rate (the few header bytes count). Post flags (``post_flag``) go there too. A
model whose codec does not write one standard JPEG is refused with the reason. A clip is the
codec's elementary stream (``.hevc`` for x265, ``.h264`` for x264, as the evaluation counts it) and
a small JSON sidecar ``<file>.json``: Annex-B has no place for it that every decoder skips.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.codecs.ffmpeg_codec import FfmpegCodec
from bench.codecs.jpeg import JpegCodec
from bench.errors import BenchError, DataError
from sandwich.card import Member
from sandwich.member import SandwichMember
from sandwich.post_flags import block_mask
from sandwich.video_member import VideoSandwichMember

TAG = "sandwich-bench/1"
SOI, COM = b"\xff\xd8", b"\xff\xfe"


@dataclass(frozen=True)
class Encoded:
    """What ``bench encode`` wrote: the file, its size (the rate) and what it holds besides the stream."""

    path: Path
    nbytes: int
    header_bytes: int
    pixels: int
    rate_point: float

    @property
    def bpp(self) -> float:
        return 8.0 * self.nbytes / self.pixels


def default_rate_point(member: Member) -> float:
    """The middle of the rate points the model was trained for (the wrapped codec's, else step factor 1)."""
    if member.wrapped is not None:
        points = sorted(member.wrapped.rate_points)
        return points[len(points) // 2]
    return 1.0


def _header(card: dict[str, Any], size: list[int], rate_point: float) -> dict[str, Any]:
    return {
        "format": TAG,
        "model": card["id"],
        "weights": card["weights_sha256"][:16],
        "scenario": card["scenario"],
        "size": size,
        "rate_point": rate_point,
    }


def _check_model(header: dict[str, Any], card: dict[str, Any], path: Path) -> None:
    if header["model"] != card["id"] or header["weights"] != card["weights_sha256"][:16]:
        raise BenchError(
            f"{path} was encoded with model {header['model']}, not {card['id']}; decode it with that model"
        )


def _image_member(member: Member) -> SandwichMember:
    if not isinstance(member, SandwichMember):
        raise BenchError(f"{member.name} is a {member.modality} model; bench encode/decode code still images")
    if not isinstance(member.real_codec(), JpegCodec) or member.real_codec().options().get("mode") == "planes":
        raise BenchError(
            f"{member.name} codes with {member.real_codec().name} {member.real_codec().options()}, which does not "
            "write one standard JPEG file; bench encode writes JPEG models (modes rgb, raw, gray)"
        )
    return member


def with_comment(jpeg: bytes, text: str) -> bytes:
    """``jpeg`` with a COM segment holding ``text`` right after SOI."""
    payload = text.encode()
    if not jpeg.startswith(SOI) or len(payload) > 65533:
        raise ValueError("not a JPEG stream, or a header longer than one COM segment")
    return SOI + COM + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def read_comment(data: bytes, path: Path) -> dict[str, Any]:
    """The sandwich header of a file ``bench encode`` wrote."""
    if not data.startswith(SOI + COM):
        raise DataError(f"{path} carries no sandwich header: it was not written by bench encode")
    n = struct.unpack(">H", data[4:6])[0]
    try:
        header = json.loads(data[6 : 4 + n])
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != TAG:
        raise DataError(f"{path} carries no sandwich header: it was not written by bench encode")
    return header


def encode_image(member: Member, card: dict[str, Any], source: np.ndarray, out: Path, rate_point: float) -> Encoded:
    """Write ``source`` coded by the model as a standard JPEG at ``out``."""
    m = _image_member(member)
    if m.wrapped is not None:
        m.model.rate_point = rate_point
    step = m.real_step(rate_point)
    b = m.model.bottleneck_image(source, m.device)
    res = m.model.real_codec().encode_image(b, step, 8)
    header = _header(card, list(source.shape[:2]), rate_point)
    if m.cfg.post_flag:
        recon = m.model.reconstruct(res.decoded, source.shape[:2], m.device)
        _, on = m._switched(source, res.decoded, recon)
        header["flags"] = [list(on.shape), np.packbits(on.ravel()).tobytes().hex()]
    text = json.dumps(header, separators=(",", ":"))
    data = with_comment(res.bitstream, text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return Encoded(out, len(data), len(data) - len(res.bitstream), source.shape[0] * source.shape[1], rate_point)


def decode_image(member: Member, card: dict[str, Any], path: Path) -> np.ndarray:
    """Ŝ from a file ``bench encode`` wrote with this model: the standard decoder, then the post-processor."""
    m = _image_member(member)
    data = path.read_bytes()
    header = read_comment(data, path)
    _check_model(header, card, path)
    codec = m.model.real_codec()
    assert isinstance(codec, JpegCodec)
    try:
        decoded = codec.decode_bytes(data)
    except OSError as exc:
        raise DataError(f"{path} is not a decodable JPEG ({exc})") from None
    if m.wrapped is not None:
        m.model.rate_point = float(header["rate_point"])
    size = (int(header["size"][0]), int(header["size"][1]))
    recon = m.model.reconstruct(decoded, size, m.device)
    if "flags" in header:
        shape, bits = header["flags"]
        on = np.unpackbits(np.frombuffer(bytes.fromhex(bits), np.uint8))[: shape[0] * shape[1]].reshape(shape)
        without = m.model.reconstruct(decoded, size, m.device, use_post=False)
        recon = np.where(block_mask(on, size)[..., None], recon, without)
    return recon


def write_png(path: Path, image: np.ndarray) -> None:
    """A lossless PNG of ``image`` at its own depth (8 or 16 bit)."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    bgr = image[..., ::-1] if image.shape[-1] == 3 else image
    if not cv2.imwrite(str(path), np.ascontiguousarray(bgr)):
        raise DataError(f"could not write {path}")


def stream_suffix(member: VideoSandwichMember) -> str:
    """The elementary stream's file suffix (the codec's muxer: hevc, h264, ivf ...)."""
    codec = member.real_codec()
    assert isinstance(codec, FfmpegCodec)
    return f".{codec.muxer}"


def encode_clip(
    member: VideoSandwichMember, card: dict[str, Any], frames: np.ndarray, fps: float, out: Path, rate_point: float
) -> Encoded:
    """Write ``T x H x W x 3`` frames coded by the model: the stream at ``out``, the header beside it."""
    qp = member.coding.real_qp(rate_point)
    b = member.coding.bottleneck_frames(frames, member.device)
    res = member.real_codec().encode(b, qp, 8, fps)
    header = {**_header(card, list(frames.shape[:3]), rate_point), "fps": fps, "bottleneck": list(b.shape[1:3])}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(res.bitstream)
    sidecar = Path(f"{out}.json")
    sidecar.write_text(json.dumps(header, separators=(",", ":")))
    t, h, w = frames.shape[:3]
    return Encoded(out, len(res.bitstream), sidecar.stat().st_size, t * h * w, rate_point)


def decode_clip(member: VideoSandwichMember, card: dict[str, Any], path: Path) -> tuple[np.ndarray, float]:
    """(Ŝ frames, fps) of a stream ``bench encode`` wrote: ffmpeg's decoder, then g on every frame."""
    try:
        header = json.loads(Path(f"{path}.json").read_text())
    except (OSError, ValueError):
        raise DataError(
            f"{path}.json (the header bench encode writes beside the stream) is missing or unreadable"
        ) from None
    if not isinstance(header, dict) or header.get("format") != TAG:
        raise DataError(f"{path}.json is not a sandwich header: the stream was not written by bench encode")
    _check_model(header, card, path)
    t, h, w = (int(v) for v in header["size"])
    bh, bw = (int(v) for v in header["bottleneck"])
    codec = member.real_codec()
    assert isinstance(codec, FfmpegCodec)  # every video codec here is an ffmpeg encoder
    decoded = codec.decode_bytes(path.read_bytes(), (t, bh, bw))
    member.coding.real_qp(float(header["rate_point"]))  # a conditioned g sees the QP it was coded at
    recon = np.stack([member.model.reconstruct(d, (h, w), member.device) for d in decoded])
    return recon, float(header["fps"])
