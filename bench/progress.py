"""Progress on stderr for ``bench run``, its training loops and its evaluation loop, in one place.

Why one module: a run is several loops (each model's training, then every cell's items), and a
reader wants one answer to "how far, how long still". On a terminal that is one live display: the
run's phase and time left (the current loop's measured rate, plus the estimate of the phases not
started: ``bench.estimate``) above the current loop's bar. In a log (stderr not a terminal) it is a
header line per phase and, inside a loop, a line at most every ``LINE_EVERY_S`` seconds and every
``LINE_EVERY_STEPS`` steps (whichever is sparser) with the step, it/s and time left.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

LINE_EVERY_S = 30.0
LINE_EVERY_STEPS = 10


def say(msg: str) -> None:
    """One ``[bench]`` line on stderr (stdout's last line is reserved for the run folder)."""
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 20 s``, ``2 h 05 min``."""
    s = max(int(round(seconds)), 0)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def _live() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


@dataclass
class _Run:
    """The run being shown: the estimated seconds of phases not started yet, and the live display."""

    later: dict[str, float]
    live: Progress | None
    row: TaskID | None = None
    phase: str = "plan"
    started: float = field(default_factory=time.perf_counter)


_run: _Run | None = None


@contextmanager
def run_display(later: dict[str, float]) -> Iterator[None]:
    """Show the run while the block runs; ``later`` maps each phase key (as :func:`phase` names it) to its
    estimated seconds."""
    global _run
    live = _live() if sys.stderr.isatty() else None
    _run = _Run(dict(later), live)
    try:
        if live is not None:
            live.start()
            _run.row = live.add_task("run", total=None, rate="")
        yield
    finally:
        if live is not None:
            live.stop()
        _run = None


def phase(key: str, header: str) -> None:
    """A phase of the run begins: its header line, and its estimate leaves the run's time left."""
    say(header)
    if _run is not None:
        _run.later.pop(key, None)
        _run.phase = header
        _show_run(None)


def _show_run(task_left: float | None) -> str:
    """The run's line (time left: the current loop's, then the estimate of what has not started)."""
    if _run is None:
        return ""
    left = sum(_run.later.values()) + (task_left or 0.0)
    text = f"run {duration(time.perf_counter() - _run.started)} in; {_run.phase}" + (
        f"; about {duration(left)} left (estimate)" if task_left is not None or _run.later else ""
    )
    if _run.live is not None and _run.row is not None:
        _run.live.update(_run.row, description=text)
    return text


class Task:
    """One loop (a model's training steps, the evaluation's items): call :meth:`advance` per step."""

    def __init__(
        self,
        label: str,
        total: int,
        done: int = 0,
        unit: str = "step",
        every_s: float = LINE_EVERY_S,
        every_steps: int = LINE_EVERY_STEPS,
    ) -> None:
        self.label, self.total, self.done, self.unit = label, total, done, unit
        self.every_s, self.every_steps = every_s, every_steps
        self.first, self.t0 = done, time.perf_counter()
        self.last_line, self.last_step = self.t0, done
        self.own: Progress | None = None
        self.live = _run.live if _run is not None else None
        if self.live is None and sys.stderr.isatty():
            self.live = self.own = _live()
            self.own.start()
        self.row = self.live.add_task(label, total=total, completed=done, rate="") if self.live is not None else None

    def rate(self) -> float | None:
        """Steps per second since this loop started (a resumed loop counts from where it resumed)."""
        steps, dt = self.done - self.first, time.perf_counter() - self.t0
        return steps / dt if steps > 0 and dt > 0 else None

    def left(self) -> float | None:
        rate = self.rate()
        return (self.total - self.done) / rate if rate else None

    def line(self) -> str:
        """``label: step 300/1000, 2.10 it/s, 5 min 33 s left`` (and the run's time left, in a run)."""
        rate, left = self.rate(), self.left()
        speed = f", {rate:.2f} it/s" if rate is not None else ""
        rest = f", {duration(left)} left" if left is not None else ""
        run = f" [{_show_run(left)}]" if _run is not None else ""
        return f"{self.label}: {self.unit} {self.done}/{self.total}{speed}{rest}{run}"

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if self.live is not None and self.row is not None:
            rate = self.rate()
            self.live.update(
                self.row, description=self.label, completed=self.done, rate=f"{rate:.2f} it/s" if rate else ""
            )
            _show_run(self.left())
        elif now - self.last_line >= self.every_s and self.done - self.last_step >= self.every_steps:
            self.last_line, self.last_step = now, self.done
            say(self.line())

    def close(self) -> None:
        if self.live is not None and self.row is not None:
            self.live.remove_task(self.row)
        if self.own is not None:
            self.own.stop()


@contextmanager
def task(
    label: str,
    total: int,
    done: int = 0,
    unit: str = "step",
    every_s: float = LINE_EVERY_S,
    every_steps: int = LINE_EVERY_STEPS,
) -> Iterator[Task]:
    """A :class:`Task` shown while the block runs (a row of the run's display, its own bar, or log lines)."""
    t = Task(label, total, done, unit, every_s, every_steps)
    try:
        yield t
    finally:
        t.close()
