"""The headline metric and per-item RD curves, through real runs: three Kodak crops through real JPEG, and two
real clips through real x265 (kbps), each run by `bench run` in process with a real MLflow store, then
`bench report`. The headline is declared as the *second* metric, so "leads with it" is not the old order."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
import yaml
from PIL import Image

from bench.metrics import bd_axis
from bench.rd import bd
from reports.build import BuildOptions, build
from reports.compare import compare
from reports.figures import per_item_figure
from reports.items import per_item
from reports.load import load_folder
from tests.test_report import QUALITIES, make_dataset

pytestmark = pytest.mark.slow  # every test reads a real `bench run`

QPS = [27, 32, 37, 42]


def image_config(path: Path, images: Path) -> Path:
    doc = {
        "name": "lead",
        "scenario": "rgb",
        "seed": 0,
        "data": {"eval": {"folder": str(images), "glob": "*.png"}},
        "evaluation": {
            "metrics": ["psnr-rgb", "ms-ssim-rgb"],
            "headline": "ms-ssim-rgb",
            "anchor": "j420",
            "bootstrap": 20,
            "visual_items": 0,
        },
        "methods": [
            {
                "name": "j444",
                "kind": "codec",
                "codec": "jpeg",
                "options": {"mode": "rgb", "chroma": "444"},
                "rate_points": QUALITIES,
            },
            {
                "name": "j420",
                "kind": "codec",
                "codec": "jpeg",
                "options": {"mode": "rgb", "chroma": "420"},
                "rate_points": QUALITIES,
            },
            {"name": "pub-jpeg", "kind": "reference", "path": "${data}/reference/compressai_kodak/jpeg.json"},
        ],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def video_config(path: Path) -> Path:
    """Two clips of different content and frame rate (BasketballPass at 50 fps, foreman at its own 30)."""
    clips = ["${data}/video/BasketballPass_416x240_100f", "${data}/video/foreman_176x144_30fps.yuv"]
    doc = {
        "name": "clips",
        "scenario": "gray400",
        "seed": 0,
        "data": {"eval": {"video": clips, "fps": 50, "frames": 3, "crop": [64, 96]}},
        "evaluation": {"metrics": ["psnr-rgb", "psnr-yuv"], "headline": "psnr-yuv", "anchor": "x420", "bootstrap": 20},
        "methods": [
            {"name": "x420", "kind": "codec", "codec": "x265", "options": {"chroma": "420"}, "rate_points": QPS},
            {"name": "x444", "kind": "codec", "codec": "x265", "options": {"chroma": "444"}, "rate_points": QPS},
        ],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def bench_run(bench_app, cfg: Path, out: Path) -> tuple[Path, str]:
    res = bench_app("run", str(cfg), "--out", str(out))
    assert res.exit_code == 0, res.output
    return Path(res.stdout.strip().splitlines()[-1]), res.stderr


@pytest.fixture(scope="module")
def image_run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, bench_app) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("lead")
    return bench_run(bench_app, image_config(tmp / "lead.yaml", make_dataset(data_dir, tmp / "images")), tmp / "runs")


@pytest.fixture(scope="module")
def video_run(tmp_path_factory: pytest.TempPathFactory, bench_app) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("clips")
    return bench_run(bench_app, video_config(tmp / "clips.yaml"), tmp / "runs")


def report(run_dir: Path, out: Path, **opts) -> Path:
    built = build([load_folder(run_dir)], out, BuildOptions(formats=("html", "md", "tex"), log=False, **opts))
    return built.out


@pytest.fixture(scope="module")
def image_report(image_run: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return report(image_run[0], tmp_path_factory.mktemp("lead-report") / "report", training=False)


def test_summary_records_the_headline_and_leads_with_it(image_run: tuple[Path, str]) -> None:
    run_dir, _ = image_run
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["headline"] == "ms-ssim-rgb" and s["metrics"] == ["psnr-rgb", "ms-ssim-rgb"]  # config order kept
    assert [e["metric"] for e in s["bd"] if e["method"] == "j444"] == ["ms-ssim-rgb", "psnr-rgb"]
    meta = json.loads((run_dir / "results/images/j444.json").read_text())["meta"]
    assert meta["config_hash"] == s["config_hash"]


def test_the_console_summary_leads_with_the_headline_bd_ci_and_overlap(image_run: tuple[Path, str]) -> None:
    """`bench run` ends with the BD table on stderr, each method's headline row first, then the next commands;
    stdout's last line is still the run folder."""
    run_dir, stderr = image_run
    s = json.loads((run_dir / "summary.json").read_text())
    lines = stderr[stderr.index("[bench] results: BD against the anchor j420") :].splitlines()
    header = [
        "method",
        "metric",
        "BD-rate",
        "[95%",
        "CI]",
        "BD-quality",
        "[95%",
        "CI]",
        "overlap",
        "flags",
        "why",
        "n/a",
    ]
    assert lines[1].split() == ["[bench]", *header]
    entry = next(e for e in s["bd"] if e["method"] == "j444" and e["metric"] == "ms-ssim-rgb")
    lo, hi = entry["ci95"]["bd_rate_pct"]
    assert lines[2].split("  ")[0] == "[bench] j444" and "ms-ssim-rgb (headline)" in lines[2]
    assert f"{entry['bd_rate_pct']:+.2f}% [{lo:+.2f}, {hi:+.2f}]" in lines[2]
    assert f"({100 * entry['overlap_fraction']:.0f}%)" in lines[2]
    psnr = next(e for e in s["bd"] if e["method"] == "j444" and e["metric"] == "psnr-rgb")
    assert " psnr-rgb " in lines[3] and f"{psnr['bd_psnr_db']:+.3f} dB" in lines[3]  # the other metric after it
    assert f"[bench] next: bench report {run_dir}" in stderr and f"bench ui {run_dir}" in stderr


def _first_numbers(text: str) -> str:
    return re.search(r"[-+]?\d+\.\d+", text).group(0)


def test_every_format_leads_with_the_headline_bd_table(image_run: tuple[Path, str], image_report: Path) -> None:
    run_dir, _ = image_run
    s = json.loads((run_dir / "summary.json").read_text())
    rate = next(e for e in s["bd"] if e["method"] == "j444" and e["metric"] == "ms-ssim-rgb")["bd_rate_pct"]
    md = (image_report / "report.md").read_text()
    results = md[md.index("## ") :]  # after the title and the runs table (provenance, no results)
    assert results.startswith("## Headline: ms-ssim-rgb\n")
    assert _first_numbers(results) == f"{rate:+.2f}"  # the first number a reader meets
    assert results.index("On ms-ssim-rgb (the headline metric)") < results.index("On psnr-rgb")
    assert results.index("figures/rd_ms-ssim-rgb.png") < results.index("figures/rd_psnr-rgb.png")
    html = (image_report / "index.html").read_text()
    assert html.index('id="headline"') < html.index('id="summary"') < html.index('id="bd"')
    assert re.findall(r'<table id="([^"]+)"', html)[:2] == ["runs", "bd_ms-ssim-rgb"]
    tex = (image_report / "report.tex").read_text()
    inputs = re.findall(r"\\input\{tables/([^}]+)\.tex\}", tex)
    assert inputs[:2] == ["runs", "bd_ms-ssim-rgb"] and tex.index("bd_ms-ssim-rgb") < tex.index("Summary")
    doc = json.loads((image_report / "report.json").read_text())
    assert doc["headline"] == "ms-ssim-rgb" and list(doc["tables"])[:2] == ["runs", "bd_ms-ssim-rgb"]
    assert doc["tables"]["bd_ms-ssim-rgb"]["title"].startswith("Headline: ")


def test_a_summary_without_headline_leads_with_its_first_metric(image_run: tuple[Path, str], tmp_path: Path) -> None:
    """summary.json files written before the headline existed still load, and lead with their first metric."""
    run_dir, _ = image_run
    old = tmp_path / "lead" / run_dir.name
    shutil.copytree(run_dir, old)
    doc = json.loads((old / "summary.json").read_text())
    del doc["headline"]
    (old / "summary.json").write_text(json.dumps(doc))
    out = report(old, tmp_path / "report", training=False)
    assert "## Headline: psnr-rgb\n" in (out / "report.md").read_text()
    assert (out / "figures" / "per_item_psnr-rgb.png").is_file()


def test_per_item_figure_has_one_panel_per_item(image_run: tuple[Path, str], image_report: Path) -> None:
    run_dir, _ = image_run
    assert Image.open(image_report / "figures" / "per_item_ms-ssim-rgb.png").size[0] >= 800
    assert (image_report / "figures" / "per_item_ms-ssim-rgb.pdf").read_bytes().startswith(b"%PDF")
    md = (image_report / "report.md").read_text()
    assert md.index("figures/rd_psnr-rgb.png") < md.index("figures/per_item_ms-ssim-rgb.png") < md.index("## BD-rate")
    comp = compare([load_folder(run_dir)])
    view = per_item(comp, comp.runs[0], "ms-ssim-rgb")
    assert view.items == ["kodim01", "kodim02", "kodim03"] and view.left_out == 0
    assert view.no_values == ["JPEG (published)"]  # a published curve has no per-item values
    fig = per_item_figure(comp, view, "t")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == view.items
    assert all(len(ax.get_lines()) == 2 for ax in panels)  # j444 and the anchor j420 on each item
    plt.close(fig)


def test_per_item_bd_is_bd_of_each_items_own_points(image_run: tuple[Path, str], image_report: Path) -> None:
    """Read back from the cells (not points.csv, which the report reads): bench.rd.bd on one item's points."""
    run_dir, _ = image_run
    table = json.loads((image_report / "report.json").read_text())["tables"]["bd_items_ms-ssim-rgb"]
    assert table["columns"][:3] == ["Item", "Method", "BD-rate [%]"]
    assert [(r[0], r[1]) for r in table["rows"]] == [(f"kodim0{i}", "j444") for i in (1, 2, 3)]

    def item_curve(method: str, item: str) -> tuple[list[float], list[float]]:
        rows = [
            next(
                r
                for r in json.loads((run_dir / "cells" / method / f"{q}.json").read_text())["rows"]
                if r["item"] == item
            )
            for q in QUALITIES
        ]
        return [r["bpp"] for r in rows], [r["ms-ssim-rgb"] for r in rows]

    higher, is_db = bd_axis("ms-ssim-rgb")
    for row in table["rows"]:
        expected = bd(*item_curve("j420", row[0]), *item_curve("j444", row[0]), higher_is_better=higher, is_db=is_db)
        assert row[2] == f"{expected.bd_rate_pct:+.2f}"
    assert any(n.startswith("Fewer bits than the anchor (BD-rate < 0): j444 on ") for n in table["notes"])


def test_panels_are_capped_and_the_rest_counted(image_run: tuple[Path, str], tmp_path: Path) -> None:
    out = report(image_run[0], tmp_path / "report", training=False, item_panels=2)
    doc = json.loads((out / "report.json").read_text())
    assert [r[0] for r in doc["tables"]["bd_items_ms-ssim-rgb"]["rows"]] == ["kodim01", "kodim02"]
    assert any("2 of 3 items shown" in n and "1 left out" in n for n in doc["tables"]["bd_items_ms-ssim-rgb"]["notes"])
    assert "MS-SSIM (RGB) per item (2 of 3 items)" in (out / "report.md").read_text()


def test_video_per_clip_curves_in_kbps(video_run: tuple[Path, str], tmp_path: Path) -> None:
    run_dir, stderr = video_run
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["headline"] == "psnr-yuv" and s["rate"] == "kbps"
    assert re.search(r"\[bench\] x444 +psnr-yuv \(headline\) +[-+]\d+\.\d\d%", stderr), stderr
    out = report(run_dir, tmp_path / "report", training=False)
    md = (out / "report.md").read_text()
    assert md[md.index("## ") :].startswith("## Headline: psnr-yuv\n")
    clips = ["BasketballPass_416x240_100f", "foreman_176x144_30fps"]
    table = json.loads((out / "report.json").read_text())["tables"]["bd_items_psnr-yuv"]
    assert [r[0] for r in table["rows"]] == clips and "BD-psnr-yuv [dB]" in table["columns"]
    comp = compare([load_folder(run_dir)])
    view = per_item(comp, comp.runs[0], "psnr-yuv")
    assert view.rate_key == "kbps" and view.items == clips
    points = {
        (p["method"], p["rate_point"], p["item"]): p["kbps"] for p in comp.runs[0].points
    }  # the clip's own stream rate, not the mean over clips
    curve = next(c for c in view.curves["foreman_176x144_30fps"] if c.entry.method == "x444")
    assert curve.rates == [points[("x444", float(q), "foreman_176x144_30fps")] for q in QPS]
    fig = per_item_figure(comp, view, "t")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == clips and panels[0].get_xlabel() == "Rate [kbps]"
    plt.close(fig)
    assert (out / "figures" / "per_item_psnr-yuv.svg").read_text().lstrip().startswith("<?xml")
