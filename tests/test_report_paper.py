"""The report says only what it shows: summary claims carry their CI and overlap, visual crops sit at matched
rates, legend entries are visible lines, learned methods have their complexity, and the figures and the PDF
are what a paper takes (column-wide, Type 42 / TrueType fonts, one flowing document). Real runs: Kodak crops
through real JPEG (`tests.test_report`'s run) and a tiny gray400 sandwich trained for two steps."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bench import plots
from bench.records import Cell
from reports.compare import compare
from reports.load import load_folder
from reports.narrative import MIN_OVERLAP, metric_sentence
from reports.visual import RATE_TOLERANCE, matched_rows, mismatch, saved_rows
from tests.pdf_text import font_subtypes, page_count, text
from tests.test_reliability_reuse import sandwich_doc
from tests.test_report import report, run  # noqa: F401 - `run` is the module's real run fixture
from tests.test_run_e2e import bench

pytestmark = pytest.mark.slow  # every test reads a real `bench run`


@pytest.fixture(scope="module")
def built(run: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    out = tmp_path_factory.mktemp("paper") / "report"
    return report(str(run[1]), "--out", str(out), "--no-log", "--no-training", "--format", "md,html,pdf")


def _headline_rows(run_dir: Path):  # the psnr-rgb BD rows of the real run, and its anchor
    comp = compare([load_folder(run_dir)])
    rows = [r for r in comp.bd_rows if r.metric == "psnr-rgb"]
    return rows, rows[0].anchor


def test_summary_names_no_winner_without_ci_or_overlap(run: tuple[Path, Path]) -> None:  # noqa: F811
    rows, anchor = _headline_rows(run[1])
    j444 = next(r for r in rows if r.entry.method == "j444")
    x = -34.8  # a figure that would read as a large win
    thin = replace(j444, data={**j444.data, "bd_rate_pct": x, "overlap_fraction": 0.04, "ci95": {"reason": "2 items"}})
    text_ = metric_sentence([thin], anchor, "psnr-rgb", (), "bpp")
    assert "no winner is claimed" in text_ and "is best" not in text_
    assert "overlap over 4% of the quality range" in text_ and "no CI (2 items)" in text_
    straddles = replace(thin, data={**thin.data, "overlap_fraction": 0.9, "ci95": {"bd_rate_pct": [-40.0, 1.0]}})
    assert "its 95% CI [-40.0, +1.0] includes 0" in metric_sentence([straddles], anchor, "psnr-rgb", (), "bpp")
    sure = replace(thin, data={**thin.data, "overlap_fraction": 0.9, "ci95": {"bd_rate_pct": [-40.0, -30.0]}})
    claim = metric_sentence([sure], anchor, "psnr-rgb", (), "bpp")
    assert f"JPEG 4:4:4 is best: BD-rate {x:+.1f}% (95% CI [-40.0, -30.0], overlap 90% of the quality range)" in claim
    assert MIN_OVERLAP > 0.04


def test_summary_in_the_report_carries_ci_and_overlap(built: Path) -> None:
    summary = " ".join(json.loads((built / "report.json").read_text())["summary"])
    for figure in re.finditer(r"BD-rate [+-]\d+\.\d%|needs \d+\.\d% more bits", summary):
        after = summary[figure.end() : figure.end() + 80]
        assert after.startswith(" (95% CI [") and "overlap" in after, summary
    assert "is at -" in summary and "no CI: a published curve has no per-item values" in summary


def test_visual_rates_are_matched_or_the_mismatch_is_stated(run: tuple[Path, Path], built: Path) -> None:  # noqa: F811
    run_dir = run[1]

    def rows(method: str) -> list:
        cells = [Cell.from_json(json.loads(p.read_text())) for p in (run_dir / "cells" / method).glob("*.json")]
        return saved_rows(cells, "kodim01")

    anchor, other = rows("j420"), rows("j444")
    top = max(other, key=lambda r: r.bpp)  # a method measured only at high rates, as a sandwich may be
    lead, picked = matched_rows([anchor, [top]], 0.5)
    assert lead is min(anchor, key=lambda r: abs(math.log(r.bpp / top.bpp)))  # not the anchor's row at 0.5 bpp
    gap = abs(math.log(picked.bpp / lead.bpp))
    said = mismatch([lead, picked], ["JPEG 4:2:0 (anchor)", "JPEG 4:4:4"])
    assert (said is None) == (gap <= math.log1p(RATE_TOLERANCE))
    far = max(anchor, key=lambda r: r.bpp)
    low = min(other, key=lambda r: r.bpp)
    assert f"JPEG 4:4:4 at {low.bpp:.3f} bpp" in str(mismatch([far, low], ["JPEG 4:2:0 (anchor)", "JPEG 4:4:4"]))
    html = (built / "index.html").read_text()
    captions = re.findall(r"<figcaption>([^<]*crops at 1:1 pixels[^<]*)</figcaption>", html)
    alts = re.findall(r'alt="Crops of [^"]*"', html)
    assert captions and len(captions) == len(alts)
    for caption, alt in zip(captions, alts, strict=True):
        bpps = [float(b) for b in re.findall(r"at (\d+\.\d+) bpp", alt)]
        spread = max(abs(math.log(b / bpps[0])) for b in bpps)
        matched = spread <= math.log1p(RATE_TOLERANCE) + 1e-3  # the alt's bpp are rounded
        assert ("rates matched within 15%" in caption) == matched, (caption, alt)
        assert ("rates not matched" in caption) == (not matched)


def test_legend_names_only_visible_lines(run: tuple[Path, Path]) -> None:  # noqa: F811
    summary = json.loads((run[1] / "summary.json").read_text())
    methods = {
        k: {"label": m.get("label") or k, "role": m["role"], "rd": m["rd"]} for k, m in summary["methods"].items()
    }
    pub = methods["pub-jpeg"]["rd"]
    methods["far"] = {"label": "far away", "role": "reference", "rd": {**pub, "bpp": [b * 50 for b in pub["bpp"]]}}
    lines = [{"value": 1000.0, "label": "far line"}, {"value": 37.5, "label": "near line"}]
    fig = plots.rd_figure(methods, "psnr-rgb", "t", focus=True, lines=lines)
    ax = fig.axes[0]
    names = ax.get_legend_handles_labels()[1]
    assert "far away" not in names and "far line" not in names and "near line" in names
    assert "JPEG 4:4:4" in names
    y_lo, y_hi = ax.get_ylim()
    assert y_lo <= 37.5 <= y_hi
    for line in ax.get_lines():
        if not line.get_label().startswith("_") and line.get_label() != "near line":
            xs, ys = line.get_data()
            assert plots.visible(list(xs), list(ys), ax.get_xlim(), ax.get_ylim())
    assert ax.get_ylabel() == "PSNR (RGB) [dB]" and ax.get_xlabel() == "Rate [bpp]"
    assert tuple(fig.get_size_inches()) == (plots.COLUMN, 2.6)
    plots.close(fig)


def test_figures_are_column_wide_with_truetype_fonts(built: Path) -> None:
    for pdf in sorted((built / "figures").glob("rd_*.pdf")):
        data = pdf.read_bytes()
        assert b"/Type3" not in data and b"/FontFile2" in data, pdf  # Type 42: the TrueType program embedded
        box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)", data)
        assert box and float(box.group(1)) in (plots.COLUMN * 72, plots.WIDE * 72), pdf
    doc = json.loads((built / "report.json").read_text())
    assert "PSNR (RGB) on images" in (built / "report.md").read_text()
    assert doc["headline"] == "psnr-rgb"


def test_pdf_is_one_flowing_document(built: Path) -> None:
    pdf = built / "report.pdf"
    doc = json.loads((built / "report.json").read_text())
    n_parts = (
        len(doc["tables"]) + len(list((built / "figures").glob("*.png"))) + len(list((built / "visual").glob("*.png")))
    )
    assert page_count(pdf) <= n_parts // 2 < n_parts
    assert "Type3" not in font_subtypes(pdf) and "CIDFontType2" in font_subtypes(pdf)
    shown = text(pdf)
    assert doc["title"] in shown
    for paragraph in doc["summary"]:
        assert re.sub(r"\s+", " ", paragraph) in shown
    assert "Headline: BD-rate against JPEG 4:2:0 (anchor) on psnr-rgb" in shown and "Complexity" in shown


@pytest.fixture(scope="module")
def sandwich_run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """Luma JPEG, a sandwich ``s`` and its post-only ablation ``g``, each trained for two steps."""
    tmp = tmp_path_factory.mktemp("sandwich")
    doc = sandwich_doc(tmp, data_dir)
    doc["methods"].append({**doc["methods"][1], "name": "g", "role": "post_only"})
    cfg = tmp / "s.yaml"
    cfg.write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = bench("run", str(cfg), "--out", str(tmp / "runs"), cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def test_complexity_of_every_learned_method(sandwich_run: Path, tmp_path: Path) -> None:
    from sandwich.nets.complexity import unet_macs_per_pixel

    out = report(str(sandwich_run), "--out", str(tmp_path / "r"), "--no-log", "--no-training", "--format", "md")
    rows = {r[0]: r for r in json.loads((out / "report.json").read_text())["tables"]["complexity"]["rows"]}
    members = sandwich_run / "results" / "imgs" / "members"  # the eval folder names the dataset
    for name, label in (("s", "s"), ("g", "g")):
        meta = json.loads(next(members.glob(f"{name}.*.json")).read_text())["meta"]
        cx = meta["complexity"]
        assert cx["params"] == meta["params"] > 0 and cx["macs_per_pixel"] > 0
        assert rows[label][2] != "—" and rows[label][3] != "—", rows[label]
    full = json.loads(next(members.glob("s.*.json")).read_text())["meta"]["complexity"]
    post = json.loads(next(members.glob("g.*.json")).read_text())["meta"]["complexity"]
    assert full["params"] > post["params"]  # f + g against g alone
    assert unet_macs_per_pixel([4], [4, 4], 1, 1) < post["macs_per_pixel"]  # g's U-Net and its MLP
    assert rows["j400"][2:4] == ["—", "—"]  # a plain codec has no network


def test_compressai_complexity_counts_transposed_convolutions() -> None:
    from baselines.compressai_complexity import codec_complexity
    from baselines.compressai_zoo import new_model

    cx = codec_complexity(new_model("bmshj2018-factorized", (16, 24)).eval())
    # analysis: 5x5 stride-2 convs 3->16->16->16->24; synthesis: the transposed mirror (per input value)
    analysis = 16 * 76 / 4 + 16 * 401 / 16 + 16 * 401 / 64 + 24 * 401 / 256
    synthesis = (24 * 25 * 16 / 256 + 16 / 64) + (16 * 25 * 16 / 64 + 16 / 16) + (400 + 4) + (300 + 3)
    assert cx["macs_per_pixel"] == pytest.approx(analysis + synthesis)
    assert cx["params"] > 0
