"""``evaluation.compare`` and ``bench compare``: a method against another of the same run (not the anchor), the same
paired bootstrap over items; how the zoo profiles set the long-trained sandwich against the quick one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bench.config import parse_config
from bench.errors import ConfigError
from bench.runner import RunOptions, run_experiment
from tests.test_config import base_doc


def test_a_compared_name_that_is_not_a_method_is_one_line_naming_the_choices() -> None:
    doc = base_doc()
    doc["evaluation"]["compare"] = {"jpeg-444": "jpeg-4x4"}
    msg = str(pytest.raises(ConfigError, parse_config, doc, "x.yaml").value)
    assert "evaluation.compare: 'jpeg-4x4' is not a method; choose from: jpeg-444, jpeg-420, jpeg-400" in msg
    doc["evaluation"]["compare"] = {"jpeg-444": "jpeg-444"}
    assert "compared with itself" in str(pytest.raises(ConfigError, parse_config, doc, "x.yaml").value)


def test_unset_it_stays_out_of_the_config_hash() -> None:
    plain = parse_config(base_doc())
    assert "compare" not in plain.canonical()["evaluation"]
    doc = base_doc()
    doc["evaluation"]["compare"] = {"jpeg-444": "jpeg-400"}
    assert parse_config(doc).config_hash() != plain.config_hash()


@pytest.mark.slow
def test_the_summary_compares_the_named_pair_on_the_same_items(tmp_path: Path, crops_dir: Path, bench_app) -> None:
    """4:4:4 against 4:0:0 on RGB-PSNR: colour is worth more than its bits, so BD-quality is positive with a CI
    that excludes 0; the same pair's figures as an anchor comparison would give (swap the anchor and check)."""
    doc = base_doc()
    doc["data"]["eval"] = {"folder": str(crops_dir), "glob": "*.png"}
    doc["evaluation"].update(compare={"jpeg-444": "jpeg-400"}, bootstrap=200, metrics=["psnr-rgb", "psnr-y"])
    cfg = tmp_path / "cmp.yaml"
    cfg.write_text(yaml.safe_dump(doc))
    run_dir = run_experiment(cfg, RunOptions(out=tmp_path / "a"))
    summary = json.loads((run_dir / "summary.json").read_text())
    entries = {e["metric"]: e for e in summary["compare"]["jpeg-444"]}
    assert set(entries) == {"psnr-rgb", "psnr-y"} and entries["psnr-rgb"]["anchor"] == "jpeg-400"
    rgb = entries["psnr-rgb"]
    assert rgb["bd_psnr_db"] > 0 and rgb["ci95"]["bd_psnr_db"][0] > 0, rgb

    doc["evaluation"]["anchor"] = "jpeg-400"
    del doc["evaluation"]["compare"]
    cfg.write_text(yaml.safe_dump(doc))
    other = json.loads((run_experiment(cfg, RunOptions(out=tmp_path / "b")) / "summary.json").read_text())
    same = next(e for e in other["bd"] if e["method"] == "jpeg-444" and e["metric"] == "psnr-rgb")
    assert same["bd_psnr_db"] == rgb["bd_psnr_db"] and same["ci95"] == rgb["ci95"]

    # bench compare: the same figures after the fact, from the finished run's cells alone
    res = bench_app("compare", str(run_dir), "jpeg-444", "jpeg-400", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == summary["compare"]["jpeg-444"]
    res = bench_app("compare", str(run_dir), "jpeg-444", "jpeg-4x4")
    assert (
        res.exit_code == 2 and "has no measured method 'jpeg-4x4'; it has: jpeg-444, jpeg-420, jpeg-400" in res.stderr
    )
