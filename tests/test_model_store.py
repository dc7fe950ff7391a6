"""Trained models are artefacts (issue #17): stored by what determines them, reused by any run,
``bench eval``, ``bench encode`` / ``decode``; a file decodes with an independent decoder (Pillow).

One tiny real run (gray400, a 3-step sandwich wrapping luma JPEG, Kodak crops, a real MLflow store)
is shared by the module; each test then does what a user would with its model.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import mlflow
import numpy as np
import pytest
import yaml
from PIL import Image

from bench.errors import BenchError
from bench.runner import RunOptions, run_experiment
from sandwich import store
from sandwich.codec_file import read_comment
from sandwich.rebuild import member_from_card
from tests.test_reliability_reuse import write_crop

pytestmark = pytest.mark.slow  # real training, runs and codecs

NET = {"encoder": [4], "decoder": [4, 4], "alpha0": 1.0}


def doc(tmp: Path, data_dir: Path) -> dict:
    for sub, names in (("eval", ((1, "a"), (2, "b"), (3, "c"))), ("train", ((5, "t1"), (7, "t2")))):
        (tmp / sub).mkdir(exist_ok=True)
        for n, name in names:
            write_crop(data_dir, n, tmp / sub / f"{name}.png")
    return {
        "name": "store",
        "scenario": "gray400",
        "seed": 0,
        "data": {
            "eval": {"folder": str(tmp / "eval"), "glob": "*.png"},
            "train": {"folder": str(tmp / "train"), "glob": "*.png"},
        },
        "evaluation": {"metrics": ["psnr-rgb"], "anchor": "j400", "bootstrap": 20, "visual_items": 3},
        "methods": [
            {
                "name": "j400",
                "kind": "codec",
                "codec": "jpeg",
                "adapt": "luma",
                "options": {"mode": "gray"},
                "rate_points": [30, 80],
            },
            {
                "name": "s",
                "kind": "sandwich",
                "wraps": "j400",
                "lambdas": [1.0],
                "pre": NET,
                "post": NET,
                "train": {"steps": 3, "batch": 2, "crop": 32, "check_every": 3, "log_every": 1},
            },
        ],
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, Path, Path]:
    """(the experiment YAML, --out, the run folder) of one finished run."""
    tmp = tmp_path_factory.mktemp("store")
    cfg = tmp / "store.yaml"
    cfg.write_text(yaml.safe_dump(doc(tmp, data_dir), sort_keys=False))
    out = tmp / "runs"
    return cfg, out, run_experiment(cfg, RunOptions(out=out))


def model_folder(run_dir: Path) -> Path:
    folder = store.linked_model(run_dir / "methods" / "s.g1")
    assert folder is not None
    return folder


def training_losses(out: Path, run_dir: Path) -> list[float]:
    """The loss values the run's training child logged (none when nothing was trained)."""
    client = mlflow.MlflowClient(f"sqlite:///{out / 'mlflow.db'}")
    parent = json.loads((run_dir / "state.json").read_text())["mlflow_run_id"]
    exp = client.get_run(parent).info.experiment_id
    kids = client.search_runs([exp], f"tags.mlflow.parentRunId = '{parent}' and tags.kind = 'training'")
    return [m.value for r in kids for m in client.get_metric_history(r.info.run_id, "loss")]


def test_a_trained_model_lands_in_the_store_with_its_card(trained: tuple[Path, Path, Path]) -> None:
    _, out, run_dir = trained
    folder = model_folder(run_dir)
    assert folder.parent == (out / "models" / "sandwich").resolve()
    card = store.load_card(folder)  # checks the weights' sha256 against the card
    assert card["id"] == folder.name and card["scenario"] == "gray400" and card["gamma"] == 1.0
    assert card["wraps"]["name"] == "j400" and card["codec"]["options"]["mode"] == "gray"
    assert card["training"]["steps"] == 3 and card["training"]["checks"], card["training"]
    assert card["nets"]["pre"]["params"] > 0 and card["nets"]["post"]["macs_per_pixel"] > 0
    assert training_losses(out, run_dir), "the first run trained and logged its loss"


def test_another_eval_set_or_max_items_never_retrains(trained: tuple[Path, Path, Path], capsys) -> None:
    cfg, out, run_dir = trained
    weights = model_folder(run_dir) / store.WEIGHTS
    stamp = weights.stat().st_mtime_ns
    capsys.readouterr()
    other = run_experiment(cfg, RunOptions(out=out, max_items=1))
    err = capsys.readouterr().err
    assert other != run_dir and model_folder(other) == model_folder(run_dir)
    assert training_losses(out, other) == [], "a reused model runs no training step"
    assert "retraining" not in err and "resuming training" not in err, err
    assert weights.stat().st_mtime_ns == stamp


def test_bench_eval_evaluates_the_model_on_a_folder_without_training(
    trained: tuple[Path, Path, Path], tmp_path: Path, data_dir: Path, bench_app
) -> None:
    _, out, run_dir = trained
    folder = model_folder(run_dir)
    for n, name in ((19, "x"), (23, "y")):
        write_crop(data_dir, n, tmp_path / f"{name}.png")
    res = bench_app(
        "eval", "--model", folder.name[:10], "--data", str(tmp_path), "--out", str(out), "--metrics", "psnr-rgb"
    )
    assert res.exit_code == 0, res.output
    ev = Path(res.stdout.strip().splitlines()[-1])
    summary = json.loads((ev / "summary.json").read_text())
    assert set(summary["methods"]) == {"j400", "s"}
    assert [e["method"] for e in summary["bd"]] == ["s"], summary["bd"]
    assert training_losses(out, ev) == []
    assert model_folder(ev) == folder


def test_encode_writes_a_jpeg_any_decoder_opens_and_decode_matches_the_run(
    trained: tuple[Path, Path, Path], tmp_path: Path, bench_app
) -> None:
    cfg, out, run_dir = trained
    folder = model_folder(run_dir)
    src = Path(yaml.safe_load(cfg.read_text())["data"]["eval"]["folder"]) / "a.png"
    coded = tmp_path / "a.jpg"
    res = bench_app("encode", str(src), "--model", str(folder), "-o", str(coded), "-q", "80")
    assert res.exit_code == 0, res.output
    data = coded.read_bytes()
    pixels = 48 * 48
    assert f"{len(data)} bytes, {8 * len(data) / pixels:.4f} bpp" in res.stderr, res.stderr

    # an independent decoder: Pillow (libjpeg) opens it as a plain grayscale JPEG of the bottleneck
    plain = np.asarray(Image.open(io.BytesIO(data)))
    assert plain.shape == (48, 48)
    member, card = member_from_card(folder)
    header = read_comment(data, coded)
    assert header["model"] == card["id"] and header["size"] == [48, 48]

    # the rate the run measured for this item is the file minus the header
    cell = json.loads((run_dir / "cells" / "s.g1" / "80.json").read_text())
    row = next(r for r in cell["rows"] if r["item"] == "a")
    assert len(data) - len(json.dumps(header, separators=(",", ":"))) - 4 == row["nbytes"]

    recon = tmp_path / "a.png"
    res = bench_app("decode", str(coded), "--model", str(folder), "-o", str(recon), "--reference", str(src))
    assert res.exit_code == 0, res.output
    ours = np.asarray(Image.open(recon))
    kept = np.asarray(Image.open(run_dir / row["recon"]))
    assert np.array_equal(ours, kept), "bench decode reproduces the run's reconstruction"


def test_wrong_pairings_are_refused_with_the_reason(
    trained: tuple[Path, Path, Path], tmp_path: Path, data_dir: Path, bench_app
) -> None:
    cfg, out, run_dir = trained
    folder = model_folder(run_dir)
    src = Path(yaml.safe_load(cfg.read_text())["data"]["eval"]["folder"]) / "a.png"

    res = bench_app("encode", str(src), "--model", str(folder), "-o", str(tmp_path / "a.hevc"))
    assert res.exit_code == 2 and "name the file .jpg" in res.stderr, res.output
    res = bench_app("encode", str(src), "--model", "nosuchmodel", "-o", str(tmp_path / "a.jpg"), "--out", str(out))
    assert res.exit_code == 2 and "no trained model 'nosuchmodel'" in res.stderr, res.output

    plain = tmp_path / "plain.jpg"
    Image.open(src).save(plain)
    res = bench_app("decode", str(plain), "--model", str(folder), "-o", str(tmp_path / "r.png"))
    assert res.exit_code == 2 and "not written by bench encode" in res.stderr, res.output

    # a model of another scenario named by weights: is refused before any cell is coded
    other = yaml.safe_load(cfg.read_text())
    other["name"] = "store-rgb"
    other["scenario"] = "rgb444"
    other["evaluation"]["anchor"] = "j444"
    other["methods"] = [
        {"name": "j444", "kind": "codec", "codec": "jpeg", "options": {"mode": "rgb", "chroma": "444"}},
        {**other["methods"][1], "wraps": "j444", "weights": str(folder)},
    ]
    other["methods"][0]["rate_points"] = [30, 80]
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(other, sort_keys=False))
    with pytest.raises(BenchError, match=r"does not fit s\.g1: scenario: model 'gray400', here 'rgb444'"):
        run_experiment(path, RunOptions(out=tmp_path / "runs"))

    # weights changed after their card was written are refused
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in folder.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    with (copy / store.WEIGHTS).open("ab") as f:
        f.write(b"\0")
    with pytest.raises(BenchError, match="does not match its card"):
        store.load_card(copy)
