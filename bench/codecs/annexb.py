"""Bytes per coded picture of an H.264 / HEVC Annex-B elementary stream.

Why: a low-delay stream is one I picture and P pictures, and they cost very differently; the video
sandwich calibrates its proxy's I-frame and P-frame rates to the real codec's separately, and a result
row says what the I picture cost. Every byte of the stream is attributed to a picture, so the sizes
sum to the stream's length: start codes, and parameter sets, SEI and access-unit delimiters count
with the picture they precede.

A NAL unit starts a new picture when it is a VCL unit whose slice is the picture's first
(HEVC ``first_slice_segment_in_pic_flag``, H.264 ``first_mb_in_slice == 0``).
"""

from __future__ import annotations

import re
from typing import Any, Literal

Syntax = Literal["h264", "hevc"]
_START = re.compile(b"\x00\x00\x01")


def _nal_starts(stream: bytes) -> list[int]:
    """Offsets where each NAL unit's start code begins (a 4-byte code's leading zero included)."""
    starts = []
    for m in _START.finditer(stream):
        at = m.start()
        starts.append(at - 1 if at and stream[at - 1] == 0 else at)
    return starts


def _first_slice_of_picture(nal: bytes, syntax: Syntax) -> bool | None:
    """True/False for a VCL NAL unit (starts a picture or not), None for any other unit."""
    if syntax == "hevc":
        kind = (nal[0] >> 1) & 0x3F
        return bool(nal[2] & 0x80) if kind < 32 and len(nal) > 2 else None
    kind = nal[0] & 0x1F
    return bool(nal[1] & 0x80) if kind in (1, 5) and len(nal) > 1 else None  # ue(v) '1' is 0


def picture_bytes(stream: bytes, syntax: Syntax) -> list[int]:
    """Bytes of each coded picture, in decoding order (display order for low-delay P)."""
    starts = _nal_starts(stream)
    if not starts or starts[0] != 0:
        raise ValueError(f"not an Annex-B {syntax} stream: it does not begin with a start code")
    sizes: list[int] = []
    pending = 0  # non-VCL bytes waiting for the picture they precede
    for i, begin in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(stream)
        payload = stream[begin:end].lstrip(b"\x00")[1:]  # after the 0x000001
        first = _first_slice_of_picture(payload, syntax) if payload else None
        if first is None:
            pending += end - begin
        elif first or not sizes:
            sizes.append(pending + end - begin)
            pending = 0
        else:
            sizes[-1] += pending + end - begin
            pending = 0
    if sizes:
        sizes[-1] += pending  # trailing non-VCL units (end of stream) count with the last picture
    return sizes


def frame_type_bytes(extra: dict[str, Any]) -> dict[str, int]:
    """A low-delay encode's I-picture and P-picture bytes, for a result row (empty where the codec's
    stream is not Annex-B, e.g. AV1 OBUs)."""
    sizes = extra.get("picture_bytes")
    return {"i_frame_bytes": sizes[0], "p_frames_bytes": sum(sizes[1:])} if sizes else {}
