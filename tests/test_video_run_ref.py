"""video.init_from: {experiment, profile, method} finds the image run's final.pt under the same --out."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.config import RunModelRef, load_config
from bench.errors import BenchError
from sandwich.run_ref import check_run_model_ref, run_model_path

REPO = Path(__file__).resolve().parent.parent
GRAY = REPO / "experiments" / "grayscale.yaml"


def test_reference_resolves_to_the_runs_config_hash_folder(tmp_path: Path) -> None:
    ref = RunModelRef(experiment=GRAY, profile="flat", method="sandwich-flat.g600")
    check_run_model_ref(ref)
    with pytest.raises(BenchError, match=r"train it first with `bench run .*grayscale.yaml --profile flat"):
        run_model_path(ref, tmp_path)
    cfg = load_config(GRAY, "flat")
    final = tmp_path / "grayscale" / cfg.config_hash()[:12] / "methods" / "sandwich-flat.g600" / "final.pt"
    final.parent.mkdir(parents=True)
    final.write_bytes(b"weights")
    assert run_model_path(ref, tmp_path) == final


def test_unknown_member_is_refused_at_plan_time() -> None:
    with pytest.raises(ValueError, match=r"no sandwich member 'sandwich-flat.g601'; choose from: sandwich-flat.g600"):
        check_run_model_ref(RunModelRef(experiment=GRAY, profile="flat", method="sandwich-flat.g601"))
