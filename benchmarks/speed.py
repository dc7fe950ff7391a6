"""Speed targets, kept out of the unit tests (a loaded CI machine must not fail a correct build).

    python benchmarks/speed.py [RUN_DIR]

- `bench --help` (a fresh interpreter, best of 3) in under 1 s: commands load torch, mlflow ... only when they run;
- the paired bootstrap: 1000 resamples of an 8-item, 6-point BD-rate in under 5 s;
- with RUN_DIR (a finished run folder): its report in every format in under 30 s of CPU (90 s wall).
Prints each figure against its target; exits 1 when one is missed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.rd import bootstrap_bd


def help_seconds() -> float:
    def once() -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bench.cli", "--help"], capture_output=True, check=True)
        return time.perf_counter() - t0

    return min(once() for _ in range(3))


def bootstrap_seconds() -> float:
    rng = np.random.default_rng(1)
    rates = np.array([0.25, 0.5, 0.8, 1.2, 1.8, 2.6]) * rng.uniform(0.5, 2.0, size=(8, 1))
    quality = 32.0 + 9.0 * np.log10(rates) + rng.normal(0, 2.0, size=rates.shape)
    t0 = time.perf_counter()
    bootstrap_bd(rates, quality, 0.9 * rates * np.exp(rng.normal(0, 0.1, rates.shape)), quality.copy())
    return time.perf_counter() - t0


def report_seconds(run_dir: Path) -> tuple[float, float]:
    from reports.build import BuildOptions, build
    from reports.load import resolve_folder

    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        build(
            [resolve_folder(run_dir)],
            Path(tmp) / "report",
            BuildOptions(formats=("html", "md", "tex", "pdf"), log=False),
        )
        return time.perf_counter() - t0, time.process_time() - c0


def main(argv: list[str]) -> int:
    rows = [("bench --help [s]", help_seconds(), 1.0), ("bootstrap 1000 resamples [s]", bootstrap_seconds(), 5.0)]
    if argv:
        wall, cpu = report_seconds(Path(argv[0]))
        rows += [("report, all formats [CPU s]", cpu, 30.0), ("report, all formats [wall s]", wall, 90.0)]
    for name, value, target in rows:
        print(f"{name:32s} {value:8.2f}  target < {target:g}  {'ok' if value < target else 'MISSED'}")
    return 0 if all(v < t for _, v, t in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
