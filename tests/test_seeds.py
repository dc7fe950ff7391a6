"""``seeds:``: one sandwich member per seed, kept apart by name; absent, the config hash is as before (issue #19)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.config import load_config
from bench.errors import ConfigError
from bench.plan import build_plan
from bench.runner import SilentLog, prepare_context
from tests.test_reliability_reuse import sandwich_doc


def _config(tmp: Path, data_dir: Path, **top) -> Path:
    path = tmp / "s.yaml"
    path.write_text(yaml.safe_dump({**sandwich_doc(tmp, data_dir), **top}, sort_keys=False))
    return path


def test_absent_seeds_keep_the_hash(tmp_path: Path, data_dir: Path) -> None:
    cfg = load_config(_config(tmp_path, data_dir))
    assert "seeds" not in cfg.canonical()
    seeded = load_config(_config(tmp_path, data_dir, seeds=[0, 1]))
    assert seeded.canonical()["seeds"] == [0, 1] and seeded.config_hash() != cfg.config_hash()


def test_repeated_seed_is_one_error(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"seeds: list each seed once, got \[1, 1\]"):
        load_config(_config(tmp_path, data_dir, seeds=[1, 1]))


def test_each_seed_is_its_own_member_with_its_own_training_seed(tmp_path: Path, data_dir: Path) -> None:
    plan = build_plan(load_config(_config(tmp_path, data_dir, seeds=[3, 5])))
    members = [m for m in plan.methods if m.family == "s"]
    assert [(m.name, m.seed) for m in members] == [("s.g1.s3", 3), ("s.g1.s5", 5)]
    ctx = [prepare_context(plan, tmp_path, tmp_path, "cpu", SilentLog(), m) for m in members]
    assert [c.seed for c in ctx] == [3, 5]
    nets = [dict(m.model.state_dict()) for m in members]  # type: ignore[attr-defined]
    assert any((nets[0][k] != v).any() for k, v in nets[1].items())  # initialised from different seeds
