"""Atomic file writes: a killed process never leaves a half-written file that looks finished."""

from __future__ import annotations

import errno
import json
import math
import os
import secrets
from pathlib import Path
from typing import Any

from bench.errors import BenchError

# A write the disk refused, and what the user does about it.
_DISK_FIXES = {
    errno.ENOSPC: "free space on that disk",
    errno.EDQUOT: "free some of your disk quota",
    errno.EFBIG: "raise the file size limit (ulimit -f)",
    errno.EROFS: "make that file system writable",
    errno.EACCES: "make that folder writable for you",
    errno.EPERM: "make that folder writable for you",
}


def disk_error(exc: OSError, path: Path) -> BenchError | None:
    """One line for a write the disk refused (full, read-only, no permission); None for anything else.

    ``path`` names the place when the error does not (a failed ``write`` carries no file name).
    """
    fix = _DISK_FIXES.get(exc.errno or 0)
    if fix is None:
        return None
    return BenchError(
        f"cannot write {exc.filename or path}: {exc.strerror}; {fix} or pass another --out, then "
        "re-run (finished cells are kept)"
    )


def json_safe(obj: Any) -> Any:
    """NaN/inf are not JSON: write them as null so every reader agrees."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return json_safe(obj.item())
    return obj


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write through a uniquely named temporary file created with the process umask (mkstemp's is 0600)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        err = disk_error(exc, path)
        if err is None:
            raise
        raise err from None


def save_png(path: Path, img: Any) -> Path:
    """Lossless PNG of an 8- or 16-bit H x W x C array (1 or 3 channels), written atomically."""
    import cv2
    import numpy as np

    arr = np.asarray(img)
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = arr[:, :, ::-1]
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(arr))
    if not ok:
        raise ValueError(f"cannot encode {arr.shape} {arr.dtype} as PNG")
    write_bytes_atomic(path, buf.tobytes())
    return Path(path)


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode())


def write_json_atomic(path: Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(json_safe(obj), indent=2, allow_nan=False) + "\n")
