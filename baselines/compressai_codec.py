"""Real entropy coding with a CompressAI model: one self-contained byte stream per image.

The rate is the length of that stream, header included, so what is counted is exactly what the
decoder reads (CompressAI's own evaluation counts the strings only; our header adds 4 bytes for
one-string models and 8 for two-string ones, ≈ 0.0001 bpp on a Kodak image).

Stream layout (big-endian)::

    uint16 height, uint16 width              # the source size; the coded size is it padded to 64
    uint32 length of string i, for every string but the last
    string 0 | string 1 | ...                # in the order compress() returns them

Architecture, quality and weights are out of band, like a codec's profile and level. The
decoder's latent ``shape`` argument is derived from the padded size (``/16`` for the factorized
model's ``y``, ``/64`` for the hyperprior's ``z``), so it costs no bytes.

Entropy coding runs on CPU (ANS). Every image is coded twice and decoded twice: both streams
and both reconstructions must be bit-identical, and the decoded latent must lie within half a
quantisation step of the encoder's, or the run stops (an encoder/decoder mismatch is never
reported as a rate-distortion point).
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from baselines.compressai_zoo import Arch
from bench.errors import BenchError

PAD_MULTIPLE = 64
# Tolerance on |decoded latent - encoder latent| beyond the half step, for float rounding.
LATENT_EPS = 1e-3


@dataclass(frozen=True)
class Coded:
    """One coded image: the stream and the reconstruction decoded from it."""

    stream: bytes
    decoded: np.ndarray  # H x W x 3 uint8
    encode_s: float  # first encode / decode (the checks' repeats are not timed)
    decode_s: float


def header_bytes(n_strings: int) -> int:
    return 4 + 4 * (n_strings - 1)


def pack(height: int, width: int, strings: list[bytes]) -> bytes:
    if not (0 < height < 1 << 16 and 0 < width < 1 << 16):
        raise BenchError(f"compressai stream header holds sizes up to 65535, got {height}x{width}")
    head = struct.pack(">HH", height, width) + b"".join(struct.pack(">I", len(s)) for s in strings[:-1])
    return head + b"".join(strings)


def unpack(stream: bytes, n_strings: int) -> tuple[int, int, list[bytes]]:
    height, width = struct.unpack_from(">HH", stream, 0)
    pos = 4
    lengths = []
    for _ in range(n_strings - 1):
        lengths.append(struct.unpack_from(">I", stream, pos)[0])
        pos += 4
    strings = []
    for n in lengths:
        strings.append(stream[pos : pos + n])
        pos += n
    strings.append(stream[pos:])
    return height, width, strings


def _padded(h: int, w: int) -> tuple[int, int]:
    return -(-h // PAD_MULTIPLE) * PAD_MULTIPLE, -(-w // PAD_MULTIPLE) * PAD_MULTIPLE


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """H x W x 3 uint8 -> 1 x 3 x H x W float in [0, 1] (CompressAI's input)."""
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float().div_(255.0).contiguous()


def padded_input(img: np.ndarray) -> torch.Tensor:
    """The model's input: the image replicate-padded at the bottom and right to a multiple of 64."""
    h, w = img.shape[:2]
    hp, wp = _padded(h, w)
    return F.pad(to_tensor(img), (0, wp - w, 0, hp - h), mode="replicate")


def to_uint8(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).mul(255.0).round_().clamp_(0, 255).to(torch.uint8).numpy()


@torch.no_grad()
def encode(model: Any, img: np.ndarray, arch: Arch) -> bytes:
    """Pad (replicate) to a multiple of 64, compress, pack."""
    h, w = img.shape[:2]
    hp, wp = _padded(h, w)
    out = model.compress(padded_input(img))
    stride = arch.shape_stride
    if tuple(out["shape"]) != (hp // stride, wp // stride) or len(out["strings"]) != arch.n_strings:
        raise BenchError(
            f"compressai {type(model).__name__} returned an unexpected stream layout "
            f"({len(out['strings'])} strings, shape {tuple(out['shape'])})"
        )
    return pack(h, w, [s[0] for s in out["strings"]])


@torch.no_grad()
def decode(model: Any, stream: bytes, arch: Arch) -> tuple[torch.Tensor, torch.Tensor]:
    """The reconstruction (1 x 3 x H x W in [0, 1]) and the latent the synthesis got."""
    h, w, strings = unpack(stream, arch.n_strings)
    hp, wp = _padded(h, w)
    stride = arch.shape_stride
    seen: list[torch.Tensor] = []
    hook = model.g_s.register_forward_pre_hook(lambda _m, args: seen.append(args[0].clone()))
    try:
        x_hat = model.decompress([[s] for s in strings], (hp // stride, wp // stride))["x_hat"]
    finally:
        hook.remove()
    return x_hat[..., :h, :w], seen[0]


@torch.no_grad()
def code_checked(model: Any, img: np.ndarray, arch: Arch) -> Coded:
    """Encode and decode twice; refuse anything that is not bit-exact and within the bin."""
    t0 = time.perf_counter()
    first = encode(model, img, arch)
    t1 = time.perf_counter()
    x1, latent = decode(model, first, arch)
    t2 = time.perf_counter()
    second = encode(model, img, arch)
    x2, _ = decode(model, second, arch)
    name = type(model).__name__
    if first != second:
        raise BenchError(
            f"compressai {name}: two encodings of the same image differ ({len(first)} vs "
            f"{len(second)} bytes); the encoder is not deterministic on this machine"
        )
    if not torch.equal(x1, x2):
        raise BenchError(
            f"compressai {name}: two decodings of the same stream differ "
            f"(max {float((x1 - x2).abs().max()):.3g}); the decoder is not deterministic"
        )
    y = model.g_a(padded_input(img))
    err = float((latent - y).abs().max())
    if err > 0.5 + LATENT_EPS:
        raise BenchError(
            f"compressai {name}: the decoded latent is {err:.3g} away from the encoder's "
            f"(at most 0.5 expected): encoder and decoder disagree"
        )
    return Coded(first, to_uint8(x1), t1 - t0, t2 - t1)
