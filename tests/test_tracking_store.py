"""``bench.tracking.Tracker`` against a real MLflow sqlite store: experiment kind and description, model artefacts,
reason tags, legal keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.tracking import KIND_TAG, ML_KIND, NOTE_TAG, Tracker, default_tracking_uri, mlflow_key


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """One sqlite store for the module (a new one costs MLflow's schema migration); each test its own experiment."""
    out = tmp_path_factory.mktemp("store")
    return default_tracking_uri(out), out / "mlartifacts"


def test_a_new_experiment_opens_as_classic_ml_with_its_description(store: tuple[str, Path]) -> None:
    uri, root = store
    t = Tracker(uri, "fresh", root / "fresh", description="JPEG chroma formats")
    tags = t.client.get_experiment(t.experiment_id).tags
    assert tags[KIND_TAG] == ML_KIND == "custom_model_development"
    assert tags[NOTE_TAG] == "JPEG chroma formats"


def test_a_reused_experiment_gets_the_kind_and_the_yaml_description(store: tuple[str, Path]) -> None:
    from mlflow.tracking import MlflowClient

    uri, root = store
    client = MlflowClient(tracking_uri=uri)
    plain = client.create_experiment("older", tags={NOTE_TAG: "written before"})  # as an older bench left it
    chosen = client.create_experiment("chosen", tags={KIND_TAG: "genai_development"})  # chosen in the UI
    Tracker(uri, "older", root / "older", description="from the YAML")
    Tracker(uri, "chosen", root / "chosen")
    assert client.get_experiment(plain).tags == {KIND_TAG: ML_KIND, NOTE_TAG: "from the YAML"}
    assert client.get_experiment(chosen).tags[KIND_TAG] == "genai_development"
    assert NOTE_TAG not in client.get_experiment(chosen).tags  # no description in the YAML: none written


def test_log_model_logs_the_weights_and_card_under_models(store: tuple[str, Path], tmp_path: Path) -> None:
    uri, root = store
    t = Tracker(uri, "models", root / "models")
    run = t.client.create_run(t.experiment_id).info.run_id
    folder = tmp_path / "sandwich.g600"
    folder.mkdir()
    (folder / "final.pt").write_bytes(b"weights")
    (folder / "card.json").write_text('{"lambda": 600}\n')
    t.log_model(run, folder, "sandwich.g600")
    logged = {a.path: a.file_size for a in t.client.list_artifacts(run, "models/sandwich.g600")}
    assert logged == {"models/sandwich.g600/card.json": 16, "models/sandwich.g600/final.pt": 7}
    back = Path(t.client.download_artifacts(run, "models/sandwich.g600/card.json", str(tmp_path)))
    assert back.read_text() == '{"lambda": 600}\n'


def test_log_model_refuses_a_folder_without_a_card(store: tuple[str, Path], tmp_path: Path) -> None:
    uri, root = store
    t = Tracker(uri, "no-card", root / "no-card")
    run = t.client.create_run(t.experiment_id).info.run_id
    (tmp_path / "final.pt").write_bytes(b"weights")
    with pytest.raises(BenchError, match="no card.json"):
        t.log_model(run, tmp_path, "m")
    with pytest.raises(BenchError, match="model name"):
        (tmp_path / "card.json").write_text("{}")
        t.log_model(run, tmp_path, "../elsewhere")
    assert t.client.list_artifacts(run) == []


def test_replace_tags_drops_reasons_that_no_longer_hold(store: tuple[str, Path]) -> None:
    uri, root = store
    t = Tracker(uri, "reasons", root / "reasons")
    run = t.client.create_run(t.experiment_id, tags={"scenario": "rgb"}).info.run_id
    t.replace_tags(run, "missing.", {"missing.bd_rate_pct.a.psnr": "no overlap", "missing.overlap.a.psnr": "x"})
    t.replace_tags(run, "missing.", {"missing.overlap.a.psnr": "still none"})
    tags = {k: v for k, v in t.client.get_run(run).data.tags.items() if not k.startswith("mlflow.")}
    assert tags == {"scenario": "rgb", "missing.overlap.a.psnr": "still none"}


def test_a_method_name_with_a_plus_makes_a_key_mlflow_accepts(store: tuple[str, Path]) -> None:
    uri, root = store
    t = Tracker(uri, "keys", root / "keys")
    run = t.client.create_run(t.experiment_id).info.run_id
    key = mlflow_key("bd_rate_pct", "sandwich+jpeg", "psnr-rgb")
    assert key == "bd_rate_pct.sandwich_jpeg.psnr-rgb"
    t.log_metrics(run, {key: -3.5})
    t.set_tags(run, {mlflow_key("flags", "sandwich+jpeg"): "below its start"})
    data = t.client.get_run(run).data
    assert data.metrics == {key: -3.5} and data.tags["flags.sandwich_jpeg"] == "below its start"
