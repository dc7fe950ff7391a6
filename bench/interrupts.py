"""SIGINT and SIGTERM unwind a run as ``KeyboardInterrupt``, but not in the middle of a tracking-store write.

Why SIGTERM too: it is what ``timeout``, Slurm and ``docker stop`` send; unhandled, it ends the process
at once and the MLflow runs stay RUNNING. Why deferred: an interrupt raised inside a sqlite call leaves
that connection holding the database lock, so marking the run KILLED on the way out then fails with
"database is locked". A second signal while one waits is raised at once (the user insists).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_pending: list[int] = []
_depth = 0


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be: runs are marked KILLED and files closed on the way out."""


def _raise(signum: int) -> None:
    _pending.clear()
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _handler(signum: int, frame: FrameType | None) -> None:
    if _depth and not _pending:
        _pending.append(signum)
        return
    _raise(signum)


def install() -> None:
    """Route SIGINT and SIGTERM through the deferring handler (main thread only, as Python requires).

    A signal the parent process set to be ignored (``nohup``, a shell's background job) stays ignored.
    """
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, _handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold an interrupt that arrives inside this block until it ends (blocks nest)."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if not _depth and _pending:
            _raise(_pending[0])
