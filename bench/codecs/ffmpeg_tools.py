"""Locate the ffmpeg binary and ask it what it can do.

Default: the static build bundled in the ``imageio-ffmpeg`` wheel (it has libx264, libx265,
libaom, SVT-AV1 and libvmaf); ``$SANDWICH_FFMPEG`` overrides it, and so does imageio-ffmpeg's own
``$IMAGEIO_FFMPEG_EXE``. Debian's ffmpeg has no libvmaf. Whichever is chosen must answer
``-version`` before it is used, so a wrong path fails in one line instead of mid-run.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from bench.errors import BenchError

FIX_HINT = (
    "install the imageio-ffmpeg wheel (pip install imageio-ffmpeg, it bundles a static "
    "ffmpeg with x264/x265/libaom/libvmaf) or set SANDWICH_FFMPEG=/path/to/ffmpeg"
)


def _resolve(name: str) -> Path:
    return Path(name) if os.sep in name else Path(shutil.which(name) or name)


def _working(path: Path, source: str, fix: str) -> Path:
    """``path`` once it has run ``-version`` as an ffmpeg does; else a BenchError naming ``source``."""
    if not path.is_file() or not os.access(path, os.X_OK):
        raise BenchError(f"{source} is not an executable file; {fix}")
    try:
        proc = subprocess.run([str(path), "-version"], capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BenchError(f"{source} does not run ({exc}); {fix}") from None
    if proc.returncode != 0 or not proc.stdout.startswith(b"ffmpeg version"):
        raise BenchError(
            f"{source} is not a working ffmpeg (`{path} -version` exited with {proc.returncode}"
            f"{'' if proc.returncode else ' without an ffmpeg version line'}); {fix}"
        )
    return path


@functools.cache
def find_ffmpeg() -> Path:
    """Return the ffmpeg to use, or raise a BenchError that says how to get one."""
    env = os.environ.get("SANDWICH_FFMPEG")
    if env:
        return _working(_resolve(env), f"SANDWICH_FFMPEG={env!r}", FIX_HINT)
    imageio_env = os.environ.get("IMAGEIO_FFMPEG_EXE")
    if imageio_env:  # imageio-ffmpeg returns it unchecked
        return _working(
            _resolve(imageio_env),
            f"IMAGEIO_FFMPEG_EXE={imageio_env!r}",
            "point it at a working ffmpeg, or unset it to use the one bundled with imageio-ffmpeg",
        )
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # the wheel is missing or its binary is not there
        raise BenchError(f"no ffmpeg found ({exc}); {FIX_HINT}") from None
    return _working(_resolve(exe), f"imageio-ffmpeg's ffmpeg {exe}", FIX_HINT)


def _query(*args: str) -> str:
    proc = subprocess.run([str(find_ffmpeg()), "-hide_banner", *args], capture_output=True, text=True, timeout=60)
    return proc.stdout


@functools.cache
def ffmpeg_version() -> str:
    """First line of ``ffmpeg -version``, e.g. ``ffmpeg version n9.0.2-...``."""
    lines = _query("-version").splitlines()
    return lines[0].strip() if lines else "unknown"


@functools.cache
def _names(kind: str) -> frozenset[str]:
    """Names listed by ``ffmpeg -encoders`` / ``-filters`` / ``-muxers`` (second column)."""
    names = set()
    for line in _query(f"-{kind}").splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.startswith(" ="):
            names.add(parts[1])
    return frozenset(names)


def has_encoder(name: str) -> bool:
    return name in _names("encoders")


def has_filter(name: str) -> bool:
    return name in _names("filters")


def has_muxer(name: str) -> bool:
    return name in _names("muxers")


def run_ffmpeg(
    args: list[str], *, what: str, param: object, input_bytes: bytes | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with ``args`` (no binary name); on failure raise CodecError with stderr tail."""
    from bench.errors import CodecError

    cmd = [str(find_ffmpeg()), "-hide_banner", "-nostdin", "-y", *args]
    try:
        proc = subprocess.run(cmd, input=input_bytes, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CodecError(what, param, f"ffmpeg timed out after {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise CodecError(what, param, f"ffmpeg exited with {proc.returncode}", proc.stderr.decode(errors="replace"))
    return proc
