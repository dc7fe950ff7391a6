"""The ``bench`` command line. Every user error ends as one ``error:`` line and exit code 2."""

from __future__ import annotations

import json
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from bench import interrupts
from bench.errors import BenchError
from bench.metrics.command import metrics_command
from bench.rd_command import bdrate_command
from reports.command import report_command, ui_command
from sandwich.diagnostics.command import app as proxy_app
from sandwich.model_command import decode_command, encode_command, eval_experiment

err = Console(stderr=True)


class _Commands(TyperGroup):
    """Turns a command's BenchError into one ``error:`` line and exit code 2 here rather than in ``main``,
    so that the app run in-process (typer's CliRunner) behaves as the ``bench`` command does."""

    def invoke(self, ctx: Any) -> Any:  # typer.core.TyperGroup.invoke takes its vendored click Context
        try:
            return super().invoke(ctx)
        except BenchError as exc:
            print_error(str(exc))
            raise typer.Exit(2) from None


def _version(show: bool) -> None:
    if show:
        from importlib import metadata

        from bench.provenance import git_sha

        try:
            version = metadata.version("sandwich-bench")
        except metadata.PackageNotFoundError:  # run from a checkout that was never installed
            version = "not installed"
        typer.echo(f"sandwich-bench {version} (git {git_sha()})")
        raise typer.Exit()


app = typer.Typer(
    cls=_Commands,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def run(
    experiment: Path = typer.Argument(..., help="Experiment YAML, e.g. experiments/quick.yaml."),
    out: Path = typer.Option(Path("runs"), "--out", help="Folder that holds <experiment>/<run_id>/."),
    tracking_uri: str = typer.Option(
        None, "--tracking-uri", help="MLflow tracking URI (default sqlite:///<out>/mlflow.db)."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda (for learned methods)."),
    max_items: int = typer.Option(None, "--max-items", min=1, help="Evaluate only the first N eval items."),
    fresh: bool = typer.Option(False, "--fresh", help="Discard this experiment's finished cells and start over."),
    profile: str = typer.Option(None, "--profile", help="A profile defined in the YAML (e.g. quick, full)."),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="List the cells, the models to train or reuse and an estimated time; train, encode and write nothing.",
    ),
    executor: str = typer.Option(
        "local", "--executor", help="local (one process) or ray (every training and cell a Ray task)."
    ),
    address: str = typer.Option(
        None, "--address", help="With --executor ray: the cluster (e.g. HEAD:6379); default a local Ray."
    ),
) -> None:
    """Run (or resume) an experiment; the last line printed is the run folder."""
    from bench.runner import RunOptions, run_experiment
    from bench.sweep import executor_for

    opts = RunOptions(out, tracking_uri, device, max_items, fresh, profile)
    if dry_run:
        from bench.dry_run import dry_run as plan_only

        for line in plan_only(experiment, opts):
            typer.echo(line)
        return
    engine = executor_for(executor, address, tracking_uri)
    try:
        run_dir = run_experiment(experiment, replace(opts, executor=engine))
    except interrupts.Terminated:  # typer turns every KeyboardInterrupt into exit code 130
        raise typer.Exit(128 + signal.SIGTERM) from None
    finally:
        if engine is not None:
            engine.close()
    print(run_dir)


@app.command()
def sweep(
    experiments: list[Path] = typer.Argument(..., help="Experiment YAMLs, or folders of them (*.yaml)."),
    out: Path = typer.Option(Path("runs"), "--out", help="Folder every worker reaches (run folders, model store)."),
    tracking_uri: str = typer.Option(
        None, "--tracking-uri", help="MLflow tracking URI (a server, http://HOST:5000, on a cluster)."
    ),
    address: str = typer.Option(None, "--address", help="The Ray cluster (e.g. HEAD:6379); default a local Ray."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda (cuda: each training asks for a GPU)."),
    max_items: int = typer.Option(None, "--max-items", min=1, help="Evaluate only the first N eval items."),
    profile: str = typer.Option(None, "--profile", help="A profile each YAML defines (e.g. quick)."),
) -> None:
    """Run (or resume) several experiments on one Ray cluster into one tracking store; prints each run folder."""
    from bench.runner import RunOptions
    from bench.sweep import run_sweep

    opts = RunOptions(out, tracking_uri, device, max_items, False, profile)
    try:
        folders, failed = run_sweep(experiments, opts, address)
    except interrupts.Terminated:
        raise typer.Exit(128 + signal.SIGTERM) from None
    for folder in folders:
        print(folder)
    if failed:
        for line in failed:
            print_error(line)
        raise typer.Exit(1)


@app.command()
def doctor() -> None:
    """Check every component (torch, ffmpeg + encoders + libvmaf, JPEG, LPIPS, MLflow ...)."""
    from bench.doctor import run_checks

    checks = run_checks()
    table = Table(title="sandwich-bench doctor")
    for col in ("component", "status", "detail", "fix"):
        table.add_column(col, overflow="fold")
    for c in checks:
        status = "[green]ok[/]" if c.ok else ("[red]MISSING[/]" if c.required else "[yellow]optional[/]")
        table.add_row(c.component, status, c.detail, c.fix)
    Console().print(table)
    if any(not c.ok and c.required for c in checks):
        raise typer.Exit(1)


@app.command("list")
def list_names() -> None:
    """The scenarios, method kinds, codecs, metrics and named datasets a config can name, each with its one-line
    description, and the experiments in experiments/."""
    from bench.listing import sections

    console = Console()
    for title, entries in sections():
        console.print(f"[bold]{title}[/]:")
        width = max((len(name) for name, _ in entries), default=0)
        for name, text in entries:
            console.print(Text(f"  {name.ljust(width)}  {text}".rstrip()), soft_wrap=True)


# Their modules import torch, mlflow and the like only inside the commands, so `bench --help` stays fast.
app.command("metrics")(metrics_command)
app.command("bdrate")(bdrate_command)
app.command("report")(report_command)
app.command("ui")(ui_command)
app.add_typer(proxy_app, name="proxy")
app.command("encode")(encode_command)
app.command("decode")(decode_command)


zoo_app = typer.Typer(no_args_is_help=True, help="The model zoo (zoo/): released models any run can use.")
app.add_typer(zoo_app, name="zoo")


@zoo_app.command("publish")
def zoo_publish(
    run_dir: Path = typer.Argument(..., help="A finished run folder (<out>/<experiment>/<run id>)."),
    member: str = typer.Argument(..., help="Its sandwich member, e.g. sandwich.g1."),
    experiment: str = typer.Option(
        None, "--experiment", help="The experiment file the run used (default experiments/<name>.yaml)."
    ),
) -> None:
    """Copy a finished run's trained member into the zoo, its card carrying the run's BD figures; prints its folder."""
    from sandwich.zoo import publish_run

    print(publish_run(run_dir, member, experiment))


@app.command("compare")
def compare(
    run_dir: Path = typer.Argument(..., help="A finished run folder (<out>/<experiment>/<run id>)."),
    method: str = typer.Argument(..., help="The method compared, e.g. sandwich."),
    other: str = typer.Argument(..., help="The method it is compared against, e.g. sandwich-quick."),
    json_out: bool = typer.Option(False, "--json", help="Print the BD entries as JSON."),
) -> None:
    """BD of METHOD against OTHER (not the anchor) from a finished run's cells, paired CIs; nothing re-encoded."""
    from bench.summary import aligned, compare_finished, overlap_text, value_ci

    entries = compare_finished(run_dir, method, other)
    if json_out:
        print(json.dumps(entries, indent=1))
        return
    rows = [["method", "against", "metric", "BD-rate [95% CI]", "BD-quality [95% CI]", "overlap", "why n/a"]]
    for e in entries:
        rows.append(
            [
                e["method"],
                e["anchor"],
                e["metric"],
                value_ci(e, "bd_rate_pct", "%", 2),
                value_ci(e, "bd_psnr_db", " dB", 3),
                overlap_text(e),
                e.get("reason") or "",
            ]
        )
    print("\n".join(aligned(rows)))


@zoo_app.command("list")
def zoo_list() -> None:
    """The zoo's models: member, schedule, and the headline BD against the anchor their run measured."""
    print("\n".join(_zoo_listing()))


def _zoo_listing(root: Path | None = None) -> list[str]:
    """``bench zoo list``: one row per zoo model with its schedule and its headline BD against its anchor."""
    from bench.summary import aligned, overlap_text, value_ci
    from sandwich import zoo

    rows = [
        [
            "model",
            "member",
            "steps",
            "trained",
            "anchor",
            "metric",
            "BD-rate [95% CI]",
            "BD-quality [95% CI]",
            "overlap",
            "items",
        ]
    ]
    for folder in zoo.models(root):
        card = zoo.store.load_card(folder)
        block, t = card["zoo"], card["training"]
        bd = block["bd"]
        entry = next((e for e in bd["entries"] if e["metric"] == bd.get("headline")), bd["entries"][0])
        rows.append(
            [
                f"{folder.parent.name}/{folder.name}",
                card["member"],
                str(t["steps"]),
                f"{t['seconds'] / 60:.0f} min on {t['device']}",
                bd["anchor"],
                entry["metric"],
                value_ci(entry, "bd_rate_pct", "%", 2),
                value_ci(entry, "bd_psnr_db", " dB", 3),
                overlap_text(entry),
                f"{bd['items']} of {bd['dataset']}",
            ]
        )
    return aligned(rows) if len(rows) > 1 else [f"the zoo ({root or zoo.zoo_root()}) holds no model yet"]


@app.command("eval")
def eval_model(
    model: str = typer.Option(
        ..., "--model", "-m", help="A trained model: its folder, its id under <out>/models, or zoo:<experiment>."
    ),
    data: Path = typer.Option(..., "--data", help="A folder of images to evaluate on."),
    glob: str = typer.Option("*.png", "--glob", help="Which files of --data."),
    metrics: str = typer.Option(None, "--metrics", help="Comma-separated metrics (default: the scenario's)."),
    out: Path = typer.Option(Path("runs"), "--out", help="The --out folder of bench run (where models/ lives)."),
    max_items: int = typer.Option(None, "--max-items", min=1, help="Evaluate only the first N images."),
    tracking_uri: str = typer.Option(None, "--tracking-uri", help="MLflow tracking URI."),
) -> None:
    """Evaluate one trained model beside the codec it wraps on any folder (no training); a normal run."""
    from bench.runner import RunOptions, run_experiment

    experiment = eval_experiment(model, data, out, glob, metrics.split(",") if metrics else None)
    typer.echo(f"[bench] eval: the experiment is {experiment}", err=True)
    print(run_experiment(experiment, RunOptions(out, tracking_uri, "auto", max_items)))


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and git commit, then exit."
    ),
) -> None:
    """sandwich-bench: train, evaluate and compare sandwiched compression through real codecs."""


def print_error(message: str) -> None:
    """One ``error:`` line with the message as written: a Text is never parsed as rich markup, so a
    path such as ``runs/[draft]/x.png`` prints as it is; line breaks (a tool's stderr) become `` / ``."""
    one_line = " / ".join(part.strip() for part in message.splitlines() if part.strip())
    err.print(Text.assemble(("error:", "red"), " ", one_line), highlight=False, soft_wrap=True)


def main() -> None:
    interrupts.install()  # SIGTERM unwinds like Ctrl-C: runs end KILLED
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
