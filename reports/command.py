"""``bench report`` and ``bench ui`` (registered in ``bench/cli.py``)."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bench.errors import BenchError

if TYPE_CHECKING:
    from reports.load import RunData

DEFAULT_RUNS = Path("runs")


def _tags(pairs: list[str]) -> dict[str, str]:
    out = {}
    for p in pairs:
        key, sep, value = p.partition("=")
        if not sep or not key:
            raise BenchError(f"--tag {p!r}: expected KEY=VALUE, e.g. --tag profile=full")
        out[key] = value
    return out


def _floats(text: str, option: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise BenchError(f"{option} {text!r}: expected comma-separated numbers, e.g. 0.25,0.5,1") from None
    if not values or min(values) <= 0:
        raise BenchError(f"{option} {text!r}: expected positive numbers")
    return values


def resolve_runs(specs: list[str], uri: str | None, tags: dict[str, str], cache: Path) -> list[RunData]:
    """Each spec: a run folder, ``runs/<experiment>`` (its latest run; with ``tags`` the name is searched
    in MLflow instead, where tags exist), an MLflow run id, or an experiment name."""
    from bench.tracking import default_tracking_uri
    from reports import mlflow_io
    from reports.load import is_run_folder, resolve_folder

    runs = []
    for spec in specs:
        if is_run_folder(Path(spec)) or (Path(spec).is_dir() and not tags):
            runs.append(resolve_folder(Path(spec)))
        else:
            store = uri or default_tracking_uri(DEFAULT_RUNS)
            runs.append(mlflow_io.load_run(store, mlflow_io.find_parent(store, spec, tags), cache))
    names = [r.name for r in runs]
    if len(set(names)) != len(names):
        raise BenchError(f"the same run was given twice: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    return runs


def default_out(runs: list[RunData]) -> Path:
    """``<run>/report`` for one local run; ``runs/reports/<runs>`` otherwise."""
    if len(runs) == 1 and runs[0].local:
        return runs[0].root / "report"
    return DEFAULT_RUNS / "reports" / "+".join(f"{r.summary['experiment']}-{r.summary['run_id']}" for r in runs)


def report_command(
    runs: Annotated[
        list[str],
        typer.Argument(
            help="Run folders (or runs/<experiment> for its latest), MLflow parent run ids, or experiment names "
            "(latest finished run in the store). Several are merged into one comparison."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Report folder (default: <run>/report, or runs/reports/<runs> when merged)."),
    ] = None,
    formats: Annotated[str, typer.Option("--format", help="Comma-separated: html, md, tex, pdf.")] = "html,md,tex",
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            "--tracking-uri", help="MLflow store for run ids and experiment names (default sqlite:///runs/mlflow.db)."
        ),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag", help="KEY=VALUE a run found by experiment name must carry (repeatable), e.g. profile=full."
        ),
    ] = None,
    item: Annotated[
        list[str] | None,
        typer.Option("--item", help="Eval item for the visual comparison (repeatable; default: the first two saved)."),
    ] = None,
    target_bpp: Annotated[
        float, typer.Option("--target-bpp", min=1e-6, help="Visual comparison: the matched rate points nearest it.")
    ] = 0.5,
    crop: Annotated[int, typer.Option("--crop", min=16, help="Side of the visual crops in pixels.")] = 256,
    rates: Annotated[
        str | None, typer.Option("--rates", help="Named rates for the written summary (default 0.25,0.5,1,2 bpp).")
    ] = None,
    item_panels: Annotated[
        int,
        typer.Option(
            "--item-panels",
            min=1,
            help="Per-item RD figure: at most this many items (panels) per run; the rest are counted.",
        ),
    ] = 12,  # reports.items.MAX_PANELS, not imported here: `bench --help` loads no scipy
    training: Annotated[bool, typer.Option(help="Read training curves from MLflow metric histories.")] = True,
    log: Annotated[bool, typer.Option(help="Log the report folder to each run's parent MLflow run.")] = True,
) -> None:
    """Paper-style report (the headline metric's BD first, RD plots, per-item curves, BD tables, visual crops,
    complexity, training curves) of one or more runs."""
    # matplotlib and pandas load when this command runs, not for every `bench`
    from reports.build import BuildOptions, build, describe, parse_formats

    opts = BuildOptions(
        parse_formats(formats),
        tuple(item or ()),
        target_bpp,
        crop,
        rates=_floats(rates, "--rates") if rates else None,
        training=training,
        log=log,
        item_panels=item_panels,
    )
    with tempfile.TemporaryDirectory(prefix="bench-report-") as cache:
        loaded = resolve_runs(runs, tracking_uri, _tags(tag or []), Path(cache))
        built = build(loaded, out or default_out(loaded), opts)
    typer.echo(describe(built), err=True)
    typer.echo(built.out)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def ui_argv(uri: str, port: int) -> list[str]:
    """One worker: a personal UI needs no more, and it starts in a quarter of the time and memory."""
    return [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def ui_command(
    run: Annotated[
        Path | None,
        typer.Argument(help="A run folder: opens its store (state.json) and prints its parent run's address."),
    ] = None,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            "--tracking-uri", help="Store to open instead (default: the run's, else sqlite:///runs/mlflow.db)."
        ),
    ] = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port on 127.0.0.1.")] = 5000,
) -> None:
    """Start the MLflow UI on 127.0.0.1 for a run's tracking store (Ctrl-C stops it)."""
    from bench.tracking import default_tracking_uri, runs_url
    from reports import mlflow_io
    from reports.load import read_json

    state = read_json(run / "state.json") if run else {}
    if run and not state:
        raise BenchError(f"{run}: no state.json; give a run folder (runs/<experiment>/<run_id>) or --tracking-uri")
    uri = tracking_uri or state.get("tracking_uri") or default_tracking_uri(DEFAULT_RUNS)
    base = uri.rstrip("/") if uri.startswith(("http://", "https://")) else f"http://127.0.0.1:{port}"
    c = mlflow_io.client(uri)  # refuses a missing sqlite file instead of serving an empty store
    if state.get("mlflow_run_id") and state.get("tracking_uri") == uri:
        exp = c.get_run(state["mlflow_run_id"]).info.experiment_id
        typer.echo(f"run {run}: {runs_url(base, exp, state['mlflow_run_id'])}", err=True)
    if uri.startswith(("http://", "https://")):
        typer.echo(f"{uri} is already a tracking server; open it in a browser", err=True)
        return
    if not _port_free(port):
        raise BenchError(f"port {port} on 127.0.0.1 is in use; pass --port with a free one")
    typer.echo(f"MLflow UI for {uri} on {base} (Ctrl-C stops it)", err=True)
    sys.stderr.flush()
    argv = ui_argv(uri, port)
    os.execv(argv[0], argv)  # this process becomes the UI: signals reach it directly, no orphan server
