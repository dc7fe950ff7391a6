"""Just enough of a PDF reader for tests: page count, font subtypes and the text an fpdf2 document shows
(its fonts are Identity-H encoded TrueType subsets, decoded through each font's ToUnicode CMap)."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

LITERAL = rb"\((?:\\.|[^\\()])*\)"  # a PDF literal string (fpdf2 escapes every parenthesis)
ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}


def _objects(data: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", data, re.S)}


def _stream(obj: bytes) -> bytes:
    raw = re.search(rb"stream\r?\n(.*?)\r?\nendstream", obj, re.S)
    if raw is None:
        return b""
    return zlib.decompress(raw.group(1)) if b"/FlateDecode" in obj else raw.group(1)


def _literal(s: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(s):
        if s[i : i + 1] == b"\\":
            octal = re.match(rb"[0-7]{1,3}", s[i + 1 : i + 4])
            if octal:
                out.append(int(octal.group(0), 8))
                i += 1 + len(octal.group(0))
                continue
            out += ESCAPES.get(s[i + 1 : i + 2], s[i + 1 : i + 2])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return bytes(out)


def page_count(path: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", path.read_bytes()))


def font_subtypes(path: Path) -> set[str]:
    """Every font ``/Subtype`` named in the file (Type0, CIDFontType2, TrueType, Type3, ...)."""
    data = path.read_bytes()
    objs = _objects(data)
    return {m.decode() for o in objs.values() if b"/Font" in o for m in re.findall(rb"/Subtype\s*/(\w+)", o)}


def text(path: Path) -> str:
    """The text shown on every page, one string per ``Tj``, joined by spaces and with runs of space collapsed."""
    objs = _objects(path.read_bytes())
    cmaps: dict[bytes, dict[int, str]] = {}
    for o in objs.values():
        for name, ref in re.findall(rb"/(F\d+)\s+(\d+)\s+0\s+R", o):
            uni = re.search(rb"/ToUnicode\s+(\d+)\s+0\s+R", objs.get(int(ref), b""))
            if uni:
                cmap = _stream(objs[int(uni.group(1))])
                pairs = re.findall(rb"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]+)>", cmap)
                cmaps[name] = {int(a, 16): bytes.fromhex(b.decode()).decode("utf-16-be") for a, b in pairs}
    shown, font = [], b""
    pages = [o for o in objs.values() if re.search(rb"/Type\s*/Page\b", o)]
    for page in pages:
        ref = re.search(rb"/Contents\s+(\d+)\s+0\s+R", page)
        content = _stream(objs[int(ref.group(1))]) if ref else b""
        for m in re.finditer(
            rb"/(F\d+)\s+[\d.]+\s+Tf|(%s)\s*Tj|\[((?:%s|[^\]\(])*)\]\s*TJ" % (LITERAL, LITERAL), content, re.S
        ):
            if m.group(1):
                font = m.group(1)
                continue
            parts = [m.group(2)] if m.group(2) else re.findall(LITERAL, m.group(3), re.S)
            raw = b"".join(_literal(part[1:-1]) for part in parts)
            codes = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw) - 1, 2)]
            shown.append("".join(cmaps.get(font, {}).get(c, "?") for c in codes))
    return re.sub(r"\s+", " ", " ".join(shown))
