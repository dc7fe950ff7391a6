"""`bench report` / `bench ui` on a real run: real JPEG through the real CLI, real metrics, a real
MLflow sqlite store, real Kodak crops. The report is built by the command functions in-process.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import typer
import yaml
from PIL import Image
from typer.testing import CliRunner

from bench.errors import BenchError
from bench.rd import bdrate_files
from reports.command import report_command
from reports.visual import CAPTION, GAP, crop_box
from tests.test_run_e2e import bench

pytestmark = pytest.mark.slow  # every test reads one real `bench run`

QUALITIES = [10, 30, 60, 90]  # the fewest points BD accepts
SIDE = 192  # Kodak crops: big enough for MS-SSIM's 5 scales (161 px), small enough to be fast
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

app = typer.Typer(pretty_exceptions_enable=False)
app.callback()(lambda: None)  # keep `report` a subcommand, as under `bench`
app.command("report")(report_command)


def make_dataset(data_dir: Path, folder: Path, n: int = 3) -> Path:
    """Centre crops of the first ``n`` Kodak images, as PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        im = Image.open(data_dir / "kodak" / f"kodim{i:02d}.png")
        w, h = im.size
        im.crop((w // 2 - SIDE // 2, h // 2 - SIDE // 2, w // 2 + SIDE // 2, h // 2 + SIDE // 2)).save(
            folder / f"kodim{i:02d}.png"
        )
    return folder


def write_experiment(path: Path, images: Path, metrics: tuple[str, ...] = ("psnr-rgb", "ms-ssim-rgb")) -> Path:
    """JPEG 4:4:4 / 4:2:0 (anchor) / 4:0:0 and a published curve; profiles quick (2 items), full (3)."""
    doc = {
        "name": "rep",
        "scenario": "rgb",
        "seed": 0,
        "data": {"eval": {"folder": str(images), "glob": "*.png", "max_items": 2}},
        "evaluation": {"metrics": list(metrics), "anchor": "j420", "bootstrap": 50, "visual_items": 2},
        "methods": [
            {
                "name": "j444",
                "label": "JPEG 4:4:4",
                "kind": "codec",
                "codec": "jpeg",
                "options": {"mode": "rgb", "chroma": "444"},
                "rate_points": QUALITIES,
            },
            {
                "name": "j420",
                "label": "JPEG 4:2:0",
                "kind": "codec",
                "codec": "jpeg",
                "options": {"mode": "rgb", "chroma": "420"},
                "rate_points": QUALITIES,
            },
            {
                "name": "j400",
                "kind": "codec",
                "codec": "jpeg",
                "adapt": "luma",
                "options": {"mode": "gray"},
                "rate_points": QUALITIES,
            },
            {"name": "pub-jpeg", "kind": "reference", "path": "${data}/reference/compressai_kodak/jpeg.json"},
        ],
        "profiles": {"quick": {"data": {"eval": {"max_items": 2}}}, "full": {"data": {"eval": {"max_items": 3}}}},
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def run_bench(tmp: Path, cfg: Path, profile: str) -> Path:
    proc = bench("run", str(cfg), "--out", str(tmp / "runs"), "--profile", profile, cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def report(*args: str) -> Path:
    """Invoke ``report_command``; return the report folder it printed last."""
    result = CliRunner().invoke(app, ["report", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


def report_error(*args: str) -> str:
    result = CliRunner().invoke(app, ["report", *args])
    assert isinstance(result.exception, BenchError), result.output
    return str(result.exception)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("report")
    cfg = write_experiment(tmp / "rep.yaml", make_dataset(data_dir, tmp / "images"))
    return tmp, run_bench(tmp, cfg, "quick")


@pytest.fixture(scope="module")
def built(run: tuple[Path, Path]) -> Path:
    """The report of the run in every format (its build time is a benchmark: benchmarks/speed.py)."""
    _, run_dir = run
    return report(str(run_dir), "--format", "html,md,tex,pdf", "--crop", "96")


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.srcs: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "img":
            self.srcs.append(a.get("src") or "")
        if tag in {"script", "link", "iframe"} or re.match(r"https?:", a.get("src") or ""):
            self.external.append(tag)


def test_formats_written_complete(built: Path, run: tuple[Path, Path]) -> None:
    out = built
    assert out == run[1] / "report"
    for f in (
        "index.html",
        "report.md",
        "report.tex",
        "report.pdf",
        "report.json",
        "tables/bd_psnr-rgb.tex",
        "tables/bd_ms-ssim-rgb.tex",
        "tables/complexity.tex",
    ):
        assert (out / f).is_file(), f
    for metric in ("psnr-rgb", "ms-ssim-rgb"):
        assert (out / f"figures/rd_{metric}.svg").read_text().lstrip().startswith("<?xml")
        assert (out / f"figures/rd_{metric}.pdf").read_bytes().startswith(b"%PDF")
        assert Image.open(out / f"figures/rd_{metric}.png").size[0] >= 800
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    tex = (out / "report.tex").read_text()
    assert r"\input{tables/bd_psnr-rgb.tex}" in tex and "figures/rd_psnr-rgb.pdf" in tex
    table = (out / "tables/bd_psnr-rgb.tex").read_text()
    assert table.index(r"\toprule") < table.index(r"\midrule") < table.index(r"\bottomrule")
    md = (out / "report.md").read_text()
    links = re.findall(r"\]\(([^)]+)\)", md)
    assert links and all((out / link).is_file() for link in links)
    assert "No training curves" in md  # codec-only runs log no metric histories


def test_every_html_image_is_an_embedded_png_that_decodes(built: Path) -> None:
    out = built
    parser = _Images()
    parser.feed((out / "index.html").read_text())
    assert not parser.external, "index.html must open offline"
    # one RD plot per metric + the headline metric per item + one visual comparison per saved item
    assert len(parser.srcs) == 2 + 1 + 2
    for src in parser.srcs:
        assert src.startswith("data:image/png;base64,")
        img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        img.load()
        assert min(img.size) >= 100 and len(np.unique(np.asarray(img.convert("L")))) > 20


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium not installed (apt-get install chromium); the <img> decode test still covers the embedded images",
)
def test_headless_chromium_shows_every_image(built: Path, tmp_path: Path) -> None:
    out = built
    probe = (
        "<script>addEventListener('load',()=>document.body.setAttribute('data-probe',"
        "[...document.images].map(i=>i.complete&&i.naturalWidth>0?'1':'0').join('')))</script></body>"
    )
    page = tmp_path / "probe.html"
    page.write_text((out / "index.html").read_text().replace("</body>", probe))
    flags = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*flags, "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert re.search(r'data-probe="(1+)"', dom), "some <img> did not load in chromium"
    assert re.search(r'data-probe="(1+)"', dom).group(1) == "11111"
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*flags, "--window-size=1280,2400", f"--screenshot={shot}", (out / "index.html").as_uri()],
        capture_output=True,
        timeout=120,
    )
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.std() > 20  # not a blank page


def test_bd_table_equals_bench_bdrate(built: Path, run: tuple[Path, Path]) -> None:
    out = built
    _, run_dir = run
    doc = json.loads((out / "report.json").read_text())
    md = (out / "report.md").read_text()
    results = run_dir / "results" / "images"  # the dataset is named after its folder
    checked = 0
    for row in doc["bd"]:
        test = results / f"{row['entry']}.json"
        if not test.is_file():  # a published curve: no results file of ours
            continue
        ref = bdrate_files(results / "j420.json", test, metric=row["metric"])
        if ref["bd_rate_pct"] is None:
            assert row["bd_rate_pct"] is None and row["reason"] == ref["reason"]
            continue
        assert math.isclose(row["bd_rate_pct"], ref["bd_rate_pct"], rel_tol=1e-12)
        assert f"| {row['label']} | baseline | {ref['bd_rate_pct']:+.2f} |" in md
        checked += 1
    assert checked >= 2


def test_uncomputable_cells_say_why(built: Path) -> None:
    out = built
    table = json.loads((out / "report.json").read_text())["tables"]["bd_psnr-rgb"]
    j400 = next(r for r in table["rows"] if r[0] == "j400")
    marker = re.fullmatch(r"n/a \((\d+)\)", j400[2])
    assert marker, j400  # luma-only JPEG never reaches the anchor's RGB PSNR: no overlap
    assert any(n.startswith(f"({marker.group(1)}) no overlap in quality") for n in table["notes"])
    ms = json.loads((out / "report.json").read_text())["tables"]["bd_ms-ssim-rgb"]
    assert "BD-PSNR [dB]" not in ms["columns"] and any("not in dB" in n for n in ms["notes"])


def test_visual_crops_are_exact_pixels_at_closest_rate(built: Path, run: tuple[Path, Path]) -> None:
    out = built
    _, run_dir = run
    from bench.data import load_image

    cells = [json.loads(p.read_text()) for p in (run_dir / "cells" / "j420").glob("*.json")]
    rows = [r for c in cells for r in c["rows"] if r["item"] == "kodim01"]
    chosen = min(rows, key=lambda r: abs(math.log(r["bpp"] / 0.5)))
    src = load_image(run_dir.parents[2] / "images" / "kodim01.png")
    recon = load_image(run_dir / chosen["recon"])
    y, x, side = crop_box(src, recon, 96)
    panel = np.asarray(Image.open(out / "visual" / "visual_run_kodim01.png").convert("RGB"))
    x_orig = GAP + side + GAP  # after the thumbnail: the square source scaled to the crop's height
    x_anchor = x_orig + side + GAP
    assert (panel[CAPTION : CAPTION + side, x_orig : x_orig + side] == src[y : y + side, x : x + side]).all()
    assert (panel[CAPTION : CAPTION + side, x_anchor : x_anchor + side] == recon[y : y + side, x : x + side]).all()
    html = (out / "index.html").read_text()
    assert f"JPEG 4:2:0 at {chosen['bpp']:.3f} bpp" in html


def test_complexity_reads_timings_and_meta(run: tuple[Path, Path], tmp_path: Path) -> None:
    _, run_dir = run
    copy = tmp_path / "rep" / run_dir.name
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("report"))
    res = copy / "results" / "images" / "j444.json"
    doc = json.loads(res.read_text())
    doc["meta"]["complexity"] = {"params": 470_000, "macs_per_pixel": 51_200, "fps_cpu": 2.5}
    res.write_text(json.dumps(doc))
    out = report(str(copy), "--out", str(tmp_path / "r"), "--no-log", "--no-training", "--format", "md")
    rows = {r[0]: r for r in json.loads((out / "report.json").read_text())["tables"]["complexity"]["rows"]}
    assert rows["JPEG 4:4:4"][2:6] == ["470.00k", "51.20k", "2.5", "—"]
    assert rows["JPEG 4:2:0"][2:6] == ["—"] * 4
    enc = [float(r[6]) for r in rows.values()]
    assert all(v > 0 for v in enc)  # ms per megapixel of a real JPEG encode
    assert "pub-jpeg" not in rows and "JPEG (published)" not in rows


def test_report_logged_to_parent_run(built: Path, run: tuple[Path, Path]) -> None:
    from mlflow.tracking import MlflowClient

    tmp, run_dir = run
    state = json.loads((run_dir / "state.json").read_text())
    client = MlflowClient(tracking_uri=state["tracking_uri"])
    names = {a.path for a in client.list_artifacts(state["mlflow_run_id"], "report")}
    assert {"report/index.html", "report/report.md", "report/figures", "report/tables"} <= names
    figs = {a.path for a in client.list_artifacts(state["mlflow_run_id"], "report/figures")}
    assert "report/figures/rd_psnr-rgb.svg" in figs


def test_refusals_name_the_problem(run: tuple[Path, Path], tmp_path: Path) -> None:
    _, run_dir = run
    assert "choose from: html, md, tex, pdf" in report_error(str(run_dir), "--format", "html,docx")
    unfinished = tmp_path / "unfinished"
    shutil.copytree(run_dir, unfinished, ignore=shutil.ignore_patterns("report", "summary.json"))
    assert "re-run the same `bench run` command" in report_error(str(unfinished), "--no-log")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert "is not a report folder" in report_error(str(run_dir), "--out", str(tmp_path / "mine"), "--no-log")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert "no MLflow store" in report_error("rep", "--tracking-uri", f"sqlite:///{tmp_path / 'none.db'}")
    assert not (tmp_path / "none.db").exists()
