"""``evaluation.headline``: the metric results lead with. Checked before any work, defaulted to the first
metric, and out of the config hash while unset or at that default, so existing run folders are found again."""

from __future__ import annotations

import pytest

from bench.config import parse_config
from bench.errors import ConfigError
from bench.records import headline_first, headline_of
from tests.test_config import base_doc


def with_headline(headline: str | None, metrics: list[str] | None = None) -> dict:
    doc = base_doc()  # metrics psnr-rgb, psnr-y, ms-ssim-rgb
    if metrics is not None:
        doc["evaluation"]["metrics"] = metrics
    if headline is not None:
        doc["evaluation"]["headline"] = headline
    return doc


def test_a_headline_that_is_not_measured_is_one_line_naming_the_key_and_the_metrics() -> None:
    msg = str(pytest.raises(ConfigError, parse_config, with_headline("vmaf"), "x.yaml").value)
    assert "evaluation.headline 'vmaf' is not one of evaluation.metrics" in msg
    assert "choose from: psnr-rgb, psnr-y, ms-ssim-rgb" in msg and "\n" not in msg


def test_a_profile_that_drops_the_headline_metric_is_refused() -> None:
    doc = with_headline("ms-ssim-rgb")
    doc["profiles"] = {"lean": {"evaluation": {"metrics": ["psnr-rgb"]}}}
    assert parse_config(doc, "x.yaml").evaluation.headline_metric() == "ms-ssim-rgb"
    msg = str(pytest.raises(ConfigError, parse_config, doc, "x.yaml", "lean").value)
    assert "evaluation.headline 'ms-ssim-rgb'" in msg and "choose from: psnr-rgb" in msg


def test_the_headline_defaults_to_the_first_metric() -> None:
    assert parse_config(with_headline(None)).evaluation.headline_metric() == "psnr-rgb"
    assert parse_config(with_headline(None, ["lpips-alex", "psnr-rgb"])).evaluation.headline_metric() == "lpips-alex"
    assert parse_config(with_headline("psnr-y")).evaluation.headline_metric() == "psnr-y"


def test_the_config_hash_changes_only_for_a_headline_other_than_the_first_metric() -> None:
    """Unset or spelled out at its default, the key is not in the dump: existing experiments keep their run id."""
    plain = parse_config(with_headline(None))
    assert "headline" not in plain.canonical()["evaluation"]
    spelled = parse_config(with_headline("psnr-rgb"))
    assert "headline" not in spelled.canonical()["evaluation"] and spelled.config_hash() == plain.config_hash()
    other = parse_config(with_headline("ms-ssim-rgb"))
    assert other.canonical()["evaluation"]["headline"] == "ms-ssim-rgb"
    assert other.config_hash() != plain.config_hash()


def test_summaries_written_before_the_headline_existed_lead_with_their_first_metric() -> None:
    old = {"metrics": ["psnr-rgb", "ms-ssim-rgb"]}
    assert headline_of(old) == "psnr-rgb"
    assert headline_of({**old, "headline": "ms-ssim-rgb"}) == "ms-ssim-rgb"
    assert headline_first(["a", "b", "c", "d"], "c") == ["c", "a", "b", "d"]  # the others keep their order
    assert headline_first(["a", "b"], "z") == ["a", "b"]  # a merged report's headline another run lacks
