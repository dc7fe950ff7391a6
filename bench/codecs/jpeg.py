"""Baseline 8-bit JPEG through Pillow (libjpeg-turbo), registered as ``jpeg``.

Modes (what the channels handed in are):

- ``rgb``: 3 channels; libjpeg converts RGB -> YCbCr (BT.601 full range) and back.
- ``gray``: 1 channel, coded 4:0:0.
- ``raw``: 3 channels that *are* the JPEG components: saved as a Pillow ``YCbCr`` image (no
  forward transform) and decoded with ``draft("YCbCr")`` (no inverse transform). With ``420``
  libjpeg itself subsamples components 2 and 3.
- ``planes``: N channels, each its own gray JPEG; the bitstream is their concatenation and
  ``extra["plane_bytes"]`` holds the split.

Tables: ``standard`` (param = quality 1..100, libjpeg's scaled Annex-K tables, luma for gray
and planes, luma + chroma for rgb/raw) or ``flat`` (param = step Δ, every entry of the one table
all components share is rint(Δ) clipped to [1, 255]; ``np.rint`` rounds halves to even).
``quality=`` is never passed with ``qtables=`` (Pillow >= 11.3 rescales the table then), and
every encode reopens its bitstream and checks the stored tables against the requested ones.

``optimize`` (default True) builds optimized Huffman tables. CompressAI's published JPEG curve
used Pillow's defaults: standard tables, 4:2:0, ``optimize`` off.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import PIL
from PIL import Image, JpegImagePlugin, features

from bench.codecs.base import CODECS, Codec, EncodeResult, as_hwc, check_bitdepth, one_frame
from bench.errors import CodecError

MODES = ("rgb", "gray", "raw", "planes")
SUBSAMPLING = {"444": 0, "420": 2}  # Pillow's codes for 4:4:4 and 4:2:0
TABLES = ("standard", "flat")

# ITU-T T.81 Annex K tables K.1 (luminance) and K.2 (chrominance), natural (row-major) order,
# the order Pillow's ``quantization`` reports.
ANNEX_K_LUMA = np.array(
    [
        16,
        11,
        10,
        16,
        24,
        40,
        51,
        61,
        12,
        12,
        14,
        19,
        26,
        58,
        60,
        55,
        14,
        13,
        16,
        24,
        40,
        57,
        69,
        56,
        14,
        17,
        22,
        29,
        51,
        87,
        80,
        62,
        18,
        22,
        37,
        56,
        68,
        109,
        103,
        77,
        24,
        35,
        55,
        64,
        81,
        104,
        113,
        92,
        49,
        64,
        78,
        87,
        103,
        121,
        120,
        101,
        72,
        92,
        95,
        98,
        112,
        100,
        103,
        99,
    ]
)
ANNEX_K_CHROMA = np.array(
    [
        17,
        18,
        24,
        47,
        99,
        99,
        99,
        99,
        18,
        21,
        26,
        66,
        99,
        99,
        99,
        99,
        24,
        26,
        56,
        99,
        99,
        99,
        99,
        99,
        47,
        66,
        99,
        99,
        99,
        99,
        99,
        99,
    ]
    + [99] * 32
)


def flat_table(step: float) -> list[int]:
    """The 64 entries of the flat table for step Δ: rint(Δ) clipped to [1, 255]."""
    if not np.isfinite(step) or step <= 0:
        raise ValueError(f"jpeg flat-table step must be a finite number > 0, got {step:.12g}")
    return [int(np.clip(np.rint(step), 1, 255))] * 64


def standard_tables(quality: int, colour: bool) -> list[list[int]]:
    """libjpeg's ``jpeg_set_quality`` tables (baseline, clamped to [1, 255]) for ``quality``."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    bases = (ANNEX_K_LUMA, ANNEX_K_CHROMA) if colour else (ANNEX_K_LUMA,)
    return [np.clip((base * scale + 50) // 100, 1, 255).tolist() for base in bases]


def _check_quality(quality: float) -> int:
    if not float(quality).is_integer() or not 1 <= quality <= 100:
        raise ValueError(f"jpeg quality must be an integer in 1..100, got {quality:.12g}")
    return int(quality)


def _save(img: Image.Image, save_kw: dict[str, Any], expected: list[list[int]], param: float) -> bytes:
    """Encode with Pillow, then reopen and insist the stored tables are ``expected``."""
    buf = io.BytesIO()
    try:
        img.save(buf, "JPEG", **save_kw)
    except OSError as exc:
        # An optimized encode is written in one shot (libjpeg cannot suspend in its Huffman pass) into a buffer
        # Pillow sizes at max(64 KiB, 1 byte/pixel) below quality 95 and 2 bytes/pixel otherwise: a high-rate
        # encode of a small image overflows the first ("Suspension not allowed here"). The same tables given
        # explicitly (jpeg_set_quality's, checked below) get the larger buffer and the same bytes.
        if "quality" not in save_kw:
            raise CodecError("jpeg", param, f"Pillow could not write the JPEG: {exc}") from None
        buf = io.BytesIO()
        try:
            img.save(buf, "JPEG", **{k: v for k, v in save_kw.items() if k != "quality"}, qtables=expected)
        except OSError as again:
            raise CodecError("jpeg", param, f"Pillow could not write the JPEG: {again}") from None
    data = buf.getvalue()
    reopened = Image.open(io.BytesIO(data))
    assert isinstance(reopened, JpegImagePlugin.JpegImageFile)  # Pillow wrote a JPEG
    stored = {k: list(v) for k, v in reopened.quantization.items()}
    if "qtables" in save_kw:  # one flat table requested; every stored table must be it
        ok = bool(stored) and all(t == expected[0] for t in stored.values())
    else:
        ok = stored == dict(enumerate(expected))
    if not ok:
        raise CodecError(
            "jpeg",
            param,
            f"stored quantization tables {stored} differ from the requested {expected} (Pillow {PIL.__version__})",
        )
    return data


def encode_gray_flat(plane: np.ndarray, step: float, optimize: bool = True) -> bytes:
    """Bytes of one H x W uint8 plane as a flat-table 4:0:0 JPEG (the proxy calibration's target)."""
    return encode_gray_table(plane, flat_table(step), optimize)


def encode_gray_table(plane: np.ndarray, table: list[int], optimize: bool = True) -> bytes:
    """Bytes of one H x W uint8 plane as a 4:0:0 JPEG with the 64-entry ``table`` (natural order):
    how the proxy calibration codes one component of a standard-table JPEG on its own."""
    if plane.ndim != 2 or plane.dtype != np.uint8:
        raise ValueError(f"encode_gray_table needs an H x W uint8 plane, got {plane.shape} {plane.dtype}")
    table = [int(v) for v in table]
    return _save(
        Image.fromarray(np.ascontiguousarray(plane)), {"qtables": [table], "optimize": optimize}, [table], table[0]
    )


@CODECS.register("jpeg")
class JpegCodec(Codec):
    """Pillow/libjpeg-turbo JPEG in one of four channel modes (see the module docstring)."""

    name = "jpeg"
    inter = False
    param_name = "quality"  # the default tables; a flat-table instance takes a step instead
    higher_param_is_better = True

    def __init__(
        self, mode: str = "rgb", chroma: str | None = None, tables: str = "standard", optimize: bool = True
    ) -> None:
        chroma = str(chroma) if isinstance(chroma, int) else chroma  # YAML reads 420 as a number
        if mode not in MODES:
            raise ValueError(f"jpeg option 'mode' must be one of {MODES}, got {mode!r}")
        if tables not in TABLES:
            raise ValueError(f"jpeg option 'tables' must be one of {TABLES}, got {tables!r}")
        if not isinstance(optimize, bool):
            raise ValueError(f"jpeg option 'optimize' must be true or false, got {optimize!r}")
        if mode in ("rgb", "raw"):
            chroma = "420" if chroma is None else chroma
            if chroma not in SUBSAMPLING:
                raise ValueError(f"jpeg option 'chroma' must be one of {tuple(SUBSAMPLING)}, got {chroma!r}")
        elif chroma is not None:
            raise ValueError(
                f"jpeg option 'chroma' applies to modes rgb and raw only; mode "
                f"{mode!r} codes every channel 4:0:0, so drop 'chroma'"
            )
        self.mode, self.chroma, self.tables, self.optimize = mode, chroma, tables, optimize
        self.param_name = "quality" if tables == "standard" else "step"
        self.higher_param_is_better = tables == "standard"

    def options(self) -> dict[str, Any]:
        return {"mode": self.mode, "chroma": self.chroma, "tables": self.tables, "optimize": self.optimize}

    def check_param(self, param: float) -> None:
        if self.tables == "flat":
            flat_table(param)
        else:
            _check_quality(param)

    def version(self) -> str:
        turbo = features.version("libjpeg_turbo")
        lib = f"libjpeg-turbo {turbo}" if turbo else f"libjpeg {features.version('jpg')}"
        return f"{lib} (Pillow {PIL.__version__})"

    def _encode(
        self, frames: np.ndarray | Sequence[np.ndarray], param: float, bitdepth: int, fps: Fraction | float
    ) -> EncodeResult[np.ndarray]:
        img = one_frame(self.name, frames)
        if bitdepth != 8:
            raise ValueError(f"jpeg is 8-bit only, got bitdepth {bitdepth}; use codec 'jpeg12' for 9-12 bit content")
        check_bitdepth(img, bitdepth)
        want = {"rgb": 3, "raw": 3, "gray": 1}.get(self.mode)
        if want is not None and img.shape[2] != want:
            raise ValueError(f"jpeg mode {self.mode!r} needs {want}-channel input, got {img.shape[2]} channels")
        if self.mode == "planes":
            return self._encode_planes(img, param)
        t0 = time.perf_counter()
        data, call = self._encode_one(img, param)
        t1 = time.perf_counter()
        decoded = self._decode(data, param)
        t2 = time.perf_counter()
        return EncodeResult(data, decoded[None], t1 - t0, t2 - t1, call, (1, img.shape[0], img.shape[1]))

    def _encode_one(self, img: np.ndarray, param: float) -> tuple[bytes, str]:
        """Encode one 1- or 3-channel array; return the bytes and the Pillow call that made them."""
        colour = img.shape[2] == 3
        if self.tables == "flat":
            kw: dict[str, Any] = {"qtables": [flat_table(param)]}
            expected = kw["qtables"]
        else:
            kw = {"quality": _check_quality(param)}
            expected = standard_tables(kw["quality"], colour)
        kw["optimize"] = self.optimize
        if colour:
            assert self.chroma is not None  # modes rgb and raw (the 3-channel ones) always set it
            kw["subsampling"] = SUBSAMPLING[self.chroma]
        h, w = img.shape[:2]
        if not colour and self.tables == "flat":  # the proxy calibration's exact path
            data, pil_mode = encode_gray_flat(img[:, :, 0], param, self.optimize), "L"
        else:
            if self.mode == "raw":
                pil = Image.frombytes("YCbCr", (w, h), np.ascontiguousarray(img).tobytes())
            else:
                pil = Image.fromarray(np.ascontiguousarray(img if colour else img[:, :, 0]))
            data, pil_mode = _save(pil, kw, expected, param), pil.mode
        shown = {k: (f"[[{v[0][0]}]*64]" if k == "qtables" else v) for k, v in kw.items()}
        args = ", ".join(f"{k}={v}" for k, v in shown.items())
        return data, f"PIL.Image.save(<{pil_mode} {w}x{h}>, 'JPEG', {args})"

    def decode_bytes(self, data: bytes) -> np.ndarray:
        """Decode a JPEG file this codec wrote (``raw`` mode: its components, no YCbCr -> RGB)."""
        if self.mode == "planes":
            raise ValueError("jpeg mode 'planes' writes one JPEG per plane, not one file; decode each plane")
        return self._decode(data, 0)

    def _decode(self, data: bytes, param: float) -> np.ndarray:
        pil = Image.open(io.BytesIO(data))
        if self.mode == "raw":
            pil.draft("YCbCr", None)  # libjpeg outputs its components: no YCbCr -> RGB
            if pil.mode != "YCbCr":
                raise CodecError("jpeg", param, f"raw decode came back as {pil.mode}, not YCbCr")
        return as_hwc(np.asarray(pil))

    def _encode_planes(self, img: np.ndarray, param: float) -> EncodeResult[np.ndarray]:
        parts, enc_s, dec_s, decoded = [], 0.0, 0.0, []
        for c in range(img.shape[2]):
            t0 = time.perf_counter()
            data, call = self._encode_one(img[:, :, c : c + 1], param)
            t1 = time.perf_counter()
            decoded.append(self._decode(data, param))
            enc_s, dec_s = enc_s + t1 - t0, dec_s + time.perf_counter() - t1
            parts.append(data)
        command = f"per plane ({img.shape[2]}x): {call}"
        return EncodeResult(
            b"".join(parts),
            np.concatenate(decoded, axis=2)[None],
            enc_s,
            dec_s,
            command,
            (1, img.shape[0], img.shape[1]),
            {"plane_bytes": [len(p) for p in parts]},
        )
