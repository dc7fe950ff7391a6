"""Advisory ``flock`` locks: one run per run folder, one process at a time creating a sqlite store.

Why flock: the kernel drops the lock when its process ends, however it ends, so a SIGKILLed run
(OOM killer, Slurm, a closed laptop) never leaves a stale lock that blocks the next run. The lock
file itself stays behind and is harmless.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.errors import BenchError

RUN_LOCK = ".lock"


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # the umask applies


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold ``path`` exclusively, waiting for whoever holds it now (a store being created or migrated)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _open(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextmanager
def run_folder_lock(run_dir: Path, experiment: str) -> Iterator[None]:
    """Refuse a second ``bench run`` of the same experiment into the same folder while the first runs.

    Why: two runs of one folder evaluate the same cells twice and log every MLflow child twice.
    The holder's pid is written into the lock file so the refusal can name it.
    """
    fd = _open(run_dir / RUN_LOCK)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise BenchError(
                f"experiment {experiment!r} is already running (pid {pid}) into {run_dir}; wait for "
                f"it to end or stop it (kill {pid}: it resumes where it stopped), then re-run"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
