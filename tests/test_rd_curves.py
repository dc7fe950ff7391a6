"""Results files: validation messages, curves, bdrate_files on CompressAI's published Kodak curves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from bench.errors import BenchError
from bench.rd import bdrate_files, curve, load_results, metric_axis
from bench.rd_command import bdrate_command


@pytest.fixture(scope="module")
def kodak_ref(data_dir: Path) -> Path:
    return data_dir / "reference" / "compressai_kodak"


def _write(tmp_path: Path, obj: object, name: str = "r.json") -> Path:
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return p


def test_load_and_curve(kodak_ref: Path):
    res = load_results(kodak_ref / "jpeg.json")
    assert res.name == "JPEG" and "psnr-rgb" in res.metrics()
    bpp, q = curve(res, "psnr-rgb")
    assert len(bpp) == len(q) == 19 and np.all(np.diff(bpp) > 0)
    # a plain in-memory dict (the harness's own) works too
    mem = {"name": "x", "results": {"bpp": [1, 2], "psnr-rgb": [30, 31]}}
    assert curve(mem, "psnr-rgb")[1].tolist() == [30, 31]


def test_ms_ssim_db_is_derived_when_missing(kodak_ref: Path):
    res = load_results(kodak_ref / "jpeg.json")
    _, lin = curve(res, "ms-ssim-rgb")
    _, db = curve(res, "ms-ssim-rgb-db")
    assert db == pytest.approx(-10 * np.log10(1 - lin))


def test_unknown_metric_lists_what_the_file_has(kodak_ref: Path):
    with pytest.raises(BenchError, match=r"jpeg\.json: no metric 'vmaf'; available: .*ms-ssim-rgb, psnr-rgb"):
        curve(load_results(kodak_ref / "jpeg.json"), "vmaf")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"r\.json: not valid JSON \(.* line 1, column 2\)"),
        ({"results": {"bpp": [1]}}, r"r\.json: missing key\(s\) name"),
        ({"name": "x", "results": {"psnr-rgb": [1]}}, r"'results' must be an object with a 'bpp' list"),
        (
            {"name": "x", "results": {"bpp": [1, 2], "psnr-rgb": [30]}},
            r"parallel to bpp \(2 points\) but psnr-rgb has 1",
        ),
        (
            {"name": "x", "results": {"bpp": [1, 2], "psnr-rgb": [30, "a"]}},
            r"results\['psnr-rgb'\] must be a list of numbers",
        ),
        ([1, 2], r"expected a JSON object"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path: Path, content, message):
    with pytest.raises(BenchError, match=message):
        load_results(_write(tmp_path, content))


def test_missing_file(tmp_path: Path):
    with pytest.raises(BenchError, match=r"nope\.json: cannot read results file"):
        load_results(tmp_path / "nope.json")


def test_null_values_reach_bd_as_a_reason(tmp_path: Path, kodak_ref: Path):
    obj = json.loads((kodak_ref / "jpeg.json").read_text())
    obj["results"]["psnr-rgb"][4] = None
    r = bdrate_files(kodak_ref / "jpeg.json", _write(tmp_path, obj))
    assert r["bd_rate_pct"] is None and r["reason"] == "test has non-finite values at points [4]"


def test_metric_axis():
    assert metric_axis("psnr-rgb") == (True, True)
    assert metric_axis("ms-ssim-rgb-db") == (True, True)
    assert metric_axis("ms-ssim-rgb") == (True, False)
    assert metric_axis("lpips-alex") == (False, False)
    assert metric_axis("lpips-psnr") == (True, True)
    assert metric_axis("vmaf-neg") == (True, False)
    assert metric_axis("encoding_time") is None


def test_bdrate_files_refuses_a_metric_of_unknown_orientation(kodak_ref: Path):
    with pytest.raises(BenchError, match="encoding_time"):
        bdrate_files(kodak_ref / "jpeg.json", kodak_ref / "webp.json", metric="encoding_time")


def test_bpg_vs_jpeg_on_published_kodak_curves(kodak_ref: Path):
    """BPG (HEVC intra, 4:4:4) against Pillow's baseline JPEG, RGB-PSNR, Kodak.

    Window (-65 %, -40 %), from outside this code: objective HEVC-intra-vs-JPEG evaluations put
    the PSNR bit-rate saving at roughly 40-60 %, and this pairing sits at the favourable end:
    JPEG here is Pillow's default (4:2:0 chroma, standard Huffman tables) scored on RGB PSNR, so
    chroma errors count, and the common range starts at 26 dB where baseline JPEG blocks badly.
    """
    anchor, test = kodak_ref / "jpeg.json", kodak_ref / "bpg_444_x265_ycbcr.json"
    r = bdrate_files(anchor, test)
    assert r["reason"] is None and (r["n_anchor"], r["n_test"]) == (19, 8)
    assert -65.0 < r["bd_rate_pct"] < -40.0
    assert abs(r["bd_rate_pct_akima"] - r["bd_rate_pct"]) < 1.0
    assert 2.0 < r["bd_psnr_db"] < 7.0
    lo, hi = r["overlap"]  # JPEG's top (40.56 dB) and BPG's bottom (26.20 dB) bound the integral
    assert (lo, hi) == pytest.approx((26.195, 40.557), abs=1e-3)

    # independent of bjontegaard: piecewise-linear log-rate at equal PSNR, averaged on a grid
    ba, qa = curve(load_results(anchor), "psnr-rgb")
    bt, qt = curve(load_results(test), "psnr-rgb")
    grid = np.linspace(lo, hi, 10001)
    gap = np.interp(grid, qt, np.log10(bt)) - np.interp(grid, qa, np.log10(ba))
    assert r["bd_rate_pct"] == pytest.approx(100 * (10 ** gap.mean() - 1), abs=1.5)

    # swapping anchor and test inverts the rate ratio over the same interval
    back = bdrate_files(test, anchor)
    assert (1 + r["bd_rate_pct"] / 100) * (1 + back["bd_rate_pct"] / 100) == pytest.approx(1.0, abs=1e-9)
    assert back["bd_psnr_db"] == pytest.approx(-r["bd_psnr_db"], abs=1e-9)


def test_bdrate_command(kodak_ref: Path, tmp_path: Path):
    app = typer.Typer()
    app.command()(bdrate_command)
    anchor, test = str(kodak_ref / "jpeg.json"), str(kodak_ref / "bpg_444_x265_ycbcr.json")
    out = CliRunner().invoke(app, [anchor, test, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == bdrate_files(Path(anchor), Path(test))
    human = CliRunner().invoke(app, [anchor, test, "--metric", "ms-ssim-rgb"])
    assert human.exit_code == 0 and "BD-PSNR: n/a (not a dB metric)" in human.output
    assert "points used: anchor 19, test 8" in human.output
    with pytest.raises(BenchError, match="cannot read"):
        bdrate_command(Path(anchor), tmp_path / "missing.json")
