"""Reports over two runs of one experiment (quick and full profiles), and reports rebuilt from
what MLflow holds: by experiment name and tag, from artifacts alone, with training curves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.rd import bdrate_files
from tests.test_report import make_dataset, report, run_bench, write_experiment

pytestmark = pytest.mark.slow  # two real `bench run`s


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("merge")
    cfg = write_experiment(tmp / "rep.yaml", make_dataset(data_dir, tmp / "images", 3), metrics=("psnr-rgb",))
    return {"tmp": tmp, "quick": run_bench(tmp, cfg, "quick"), "full": run_bench(tmp, cfg, "full")}


def _uri(runs: dict[str, Path]) -> str:
    return json.loads((runs["quick"] / "state.json").read_text())["tracking_uri"]


def _doc(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def test_two_runs_merge_with_methods_told_apart(runs: dict[str, Path]) -> None:
    from mlflow.tracking import MlflowClient

    out = report(str(runs["quick"]), str(runs["full"]), "--out", str(runs["tmp"] / "merged"))
    doc = _doc(out)
    labels = [e["label"] for e in doc["entries"]]
    for name in ("JPEG 4:4:4", "JPEG 4:2:0", "j400"):
        assert f"{name} [quick]" in labels and f"{name} [full]" in labels
    assert labels.count("JPEG (published)") == 1  # the same published curve is drawn once
    summaries = [json.loads((runs[p] / "summary.json").read_text()) for p in ("quick", "full")]
    assert len(doc["bd"]) == sum(len(s["bd"]) for s in summaries)
    table = doc["tables"]["bd_psnr-rgb"]
    assert table["columns"][2] == "Anchor"
    full = next(r for r in table["rows"] if r[0] == "JPEG 4:4:4 [full]")
    assert full[2] == "JPEG 4:2:0 [full]"  # compared with its own run's anchor only
    results = runs["full"] / "results" / "images"
    ref = bdrate_files(results / "j420.json", results / "j444.json", metric="psnr-rgb")
    assert full[3] == f"{ref['bd_rate_pct']:+.2f}"
    assert [r[0] for r in doc["tables"]["runs"]["rows"]] == ["quick", "full"]
    client = MlflowClient(tracking_uri=_uri(runs))
    for p, s in zip(("quick", "full"), summaries, strict=True):
        logged = {a.path for a in client.list_artifacts(s["mlflow_run_id"], "report-merged/merged")}
        assert "report-merged/merged/index.html" in logged, p


def test_report_from_mlflow_artifacts_by_experiment_and_tag(runs: dict[str, Path]) -> None:
    local = _doc(report(str(runs["full"]), "--out", str(runs["tmp"] / "local"), "--no-log"))
    away = runs["tmp"] / "moved-away"
    runs["full"].rename(away)  # the run folder is gone: only the tracking store is left
    try:
        out = report(
            "rep",
            "--tag",
            "profile=full",
            "--tracking-uri",
            _uri(runs),
            "--out",
            str(runs["tmp"] / "remote"),
            "--no-log",
        )
    finally:
        away.rename(runs["full"])
    remote = _doc(out)
    assert remote["runs"][0]["name"] == local["runs"][0]["name"] and not remote["runs"][0]["local"]
    assert remote["tables"]["runs"]["rows"][0][-1] == "MLflow artifacts"
    assert remote["bd"] == local["bd"] and remote["tables"]["bd_psnr-rgb"] == local["tables"]["bd_psnr-rgb"]
    assert local["tables"]["complexity"]["rows"] == remote["tables"]["complexity"]["rows"]
    md = (out / "report.md").read_text()
    assert "reconstructions stay in the run folder" in md and not list(out.glob("visual/*.png"))


def test_training_curves_from_metric_histories(runs: dict[str, Path]) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=_uri(runs))
    parent = client.get_run(json.loads((runs["quick"] / "summary.json").read_text())["mlflow_run_id"])
    # what a learned method's training writes: a child run with its loss logged step by step
    child = client.create_run(
        parent.info.experiment_id,
        run_name="train:j444",
        tags={"mlflow.parentRunId": parent.info.run_id, "kind": "training"},
    )
    for step in range(0, 100, 10):
        client.log_metric(child.info.run_id, "train/loss", 1.0 / (1 + step), step=step)
    client.set_terminated(child.info.run_id)
    try:
        out = report(str(runs["quick"]), "--out", str(runs["tmp"] / "trained"), "--no-log")
    finally:
        client.delete_run(child.info.run_id)
    pngs = list(out.glob("figures/train_*.png"))
    assert len(pngs) == 1 and "train_loss" in pngs[0].name
    assert "No training curves" not in (out / "report.md").read_text()
    assert (out / "index.html").read_text().count("<img ") == 1 + 1 + 2 + 1  # RD, per item, visual x2, training
