"""Headless-Chromium screenshots of a finished run in the MLflow UI: the experiment's runs table and the parent run.

What a researcher sees when they open the UI, checked in a real browser: MLflow 3 opens an experiment in its
GenAI overview ("Traces 0") unless told it is classic ML. Starts ``mlflow ui`` on 127.0.0.1 (a free port) for
the run's sqlite store, or uses the server a run logged to; shoots; stops the UI.

    .venv/bin/python scripts/mlflow_screenshot.py RUN_DIR OUT_DIR [--chromium /usr/bin/chromium]

Writes OUT_DIR/runs.png and OUT_DIR/run.png, and the pages as rendered (runs.html, run.html) to check by text.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.tracking import runs_url
from reports.command import ui_argv

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--window-size=1400,900",
    "--virtual-time-budget=15000",  # the UI's requests settle before the shot, in virtual time
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(uri: str, log: Path) -> Iterator[str]:
    """The UI's address for ``uri``: a server is used as it is, a database store gets an ``mlflow ui`` of its own."""
    if uri.startswith(("http://", "https://")):
        yield uri.rstrip("/")
        return
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:  # the child keeps its own handle
        proc = subprocess.Popen(ui_argv(uri, port), stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"mlflow ui did not start ({log}):\n{log.read_text()[-2000:]}")
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def chromium(binary: str, url: str, *output: str) -> subprocess.CompletedProcess[str]:
    """One headless Chromium call on ``url`` with a fresh profile (no state carried from an earlier page)."""
    profile = tempfile.mkdtemp(prefix="mlflow-shot-")
    try:
        return subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *output, url],
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def shoot(binary: str, url: str, png: Path) -> None:
    """``png``, and beside it the page's DOM as rendered (``.html``)."""
    chromium(binary, url, f"--screenshot={png}")
    png.with_suffix(".html").write_text(chromium(binary, url, "--dump-dom").stdout)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path, help="a finished run folder (runs/<experiment>/<run_id>)")
    ap.add_argument("out_dir", type=Path, help="where runs.png and run.png go")
    ap.add_argument("--chromium", default=CHROMIUM, help=f"the browser (default {CHROMIUM})")
    args = ap.parse_args(argv)
    state = json.loads((args.run_dir / "state.json").read_text())
    uri, parent = state["tracking_uri"], state["mlflow_run_id"]
    from mlflow.tracking import MlflowClient

    experiment = MlflowClient(tracking_uri=uri).get_run(parent).info.experiment_id
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with serving(uri, args.out_dir / "mlflow-ui.log") as base:
        for name, url in (("runs", runs_url(base, experiment)), ("run", runs_url(base, experiment, parent))):
            shoot(args.chromium, url, args.out_dir / f"{name}.png")
            print(f"{args.out_dir / name}.png: {url}")


if __name__ == "__main__":
    main()
