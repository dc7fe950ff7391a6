"""Progress in a log (stderr not a terminal): sparse lines with the step, it/s and time left, and a
phase header that takes the phase's estimate out of the run's time left."""

from __future__ import annotations

import re
import time

from bench import progress


def test_duration_reads_like_a_person_would_say_it() -> None:
    assert [progress.duration(s) for s in (0.4, 42, 200, 7500)] == ["0 s", "42 s", "3 min 20 s", "2 h 05 min"]


def test_a_loop_in_a_log_prints_every_n_steps_with_rate_and_time_left(capsys) -> None:
    with progress.task("train m", total=10, unit="step", every_s=0.0, every_steps=4) as t:
        for _ in range(10):
            time.sleep(0.002)
            t.advance()
    lines = capsys.readouterr().err.splitlines()
    assert [re.sub(r", [\d.]+ it/s, .* left$", "", ln) for ln in lines] == [
        "[bench] train m: step 4/10",
        "[bench] train m: step 8/10",
    ]
    assert all(re.search(r", \d+\.\d\d it/s, \d+ s left$", ln) for ln in lines)


def test_a_loop_is_quiet_until_both_the_time_and_the_steps_have_passed(capsys) -> None:
    with progress.task("evaluate", total=50, unit="item", every_steps=1) as t:  # 30 s not reached
        for _ in range(50):
            t.advance()
    assert capsys.readouterr().err == ""


def test_the_run_time_left_counts_the_phases_not_started(capsys) -> None:
    with progress.run_display({"train:a": 600.0, "evaluate": 60.0}):
        progress.phase("train:a", "train 1/1: a")
        with progress.task("train a", total=4, every_s=0.0, every_steps=2) as t:
            for _ in range(4):
                time.sleep(0.002)
                t.advance()
    err = capsys.readouterr().err
    assert err.startswith("[bench] train 1/1: a\n")
    # a's own estimate left when its phase began: what is left is its loop's rest plus the evaluation's minute
    assert "; train 1/1: a; about 1 min 0 s left (estimate)]" in err.splitlines()[-1]
