"""Provenance recorded with every run: git state, library versions, host, time."""

from __future__ import annotations

import datetime as dt
import functools
import platform
import subprocess
from importlib import metadata

from bench.paths import REPO_ROOT


@functools.cache
def git_sha() -> str:
    """HEAD of the checkout the code runs from, with ``-dirty`` when it has local changes."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (sha or "unknown") + ("-dirty" if dirty else "")


def package_versions(
    names: tuple[str, ...] = (
        "sandwich-bench",
        "torch",
        "numpy",
        "pillow",
        "imagecodecs",
        "imageio-ffmpeg",
        "mlflow",
        "bjontegaard",
    ),
) -> dict[str, str]:
    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = "not installed"
    return out


def environment() -> dict[str, object]:
    return {
        "git_sha": git_sha(),
        "python": platform.python_version(),
        "host": platform.node(),
        "platform": platform.platform(),
        "time_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "packages": package_versions(),
    }
