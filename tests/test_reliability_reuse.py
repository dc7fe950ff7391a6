"""A finished cell or trained model is reused only when what produced it is unchanged (issue #18).

Real Kodak crops in a temp folder, the real JPEG, a real MLflow sqlite store; each run is tiny (three
48x48 images, two methods x two rate points), driven in-process through ``run_experiment`` (the CLI,
in a subprocess, where the one-line error and exit code are the point). A cell "left by another
codec option or version" is a real cell file edited the way that option or version would have left it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from bench.config import ExperimentConfig
from bench.data import sha256_file
from bench.errors import ConfigError
from bench.plan import build_plan
from bench.runner import RunOptions, run_experiment
from bench.scenarios import SCENARIOS
from sandwich.model import image_sandwich
from sandwich.store import linked_model
from sandwich.train import train

REPO = Path(__file__).resolve().parent.parent
CROP = 48


def write_crop(data_dir: Path, n: int, path: Path) -> None:
    """A CROP x CROP corner of kodimNN as a PNG at ``path``."""
    img = np.asarray(Image.open(data_dir / "kodak" / f"kodim{n:02d}.png").convert("RGB"))[:CROP, :CROP]
    Image.fromarray(np.ascontiguousarray(img)).save(path)


def experiment(tmp: Path, data_dir: Path, **over) -> Path:
    """Images a, b, c (Kodak 1, 2, 3) and a config: JPEG 4:4:4 and 4:2:0 at two qualities each."""
    imgs = tmp / "imgs"
    imgs.mkdir(exist_ok=True)
    for name, n in (("a", 1), ("b", 2), ("c", 3)):
        write_crop(data_dir, n, imgs / f"{name}.png")
    doc = {
        "name": "reuse",
        "scenario": "rgb",
        "seed": 0,
        "data": {"eval": {"folder": str(imgs), "glob": "*.png"}},
        "evaluation": {"metrics": ["psnr-rgb"], "anchor": "j420", "bootstrap": 20, "visual_items": 0},
        "methods": [
            {
                "name": "j444",
                "kind": "codec",
                "codec": "jpeg",
                "options": {"mode": "rgb", "chroma": "444"},
                "rate_points": [30, 80],
            },
            {
                "name": "j420",
                "kind": "codec",
                "codec": "jpeg",
                "options": {"mode": "rgb", "chroma": "420"},
                "rate_points": [30, 80],
            },
        ],
        **over,
    }
    path = tmp / "reuse.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def run(cfg: Path, out: Path, capsys: pytest.CaptureFixture[str], fresh: bool = False) -> tuple[Path, str]:
    """(run folder, the run's [bench] lines on stderr)."""
    capsys.readouterr()
    run_dir = run_experiment(cfg, RunOptions(out=out, fresh=fresh))
    return run_dir, capsys.readouterr().err


def cells(run_dir: Path) -> dict[str, bytes]:
    return {p.relative_to(run_dir).as_posix(): p.read_bytes() for p in sorted(run_dir.glob("cells/*/*.json"))}


def points(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "points.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def bench_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
    )


@pytest.mark.slow  # real runs, twice
def test_unchanged_rerun_reuses_every_cell(tmp_path: Path, data_dir: Path, capsys) -> None:
    cfg = experiment(tmp_path, data_dir)
    run_dir, _ = run(cfg, tmp_path / "runs", capsys)
    before = cells(run_dir)
    again, err = run(cfg, tmp_path / "runs", capsys)
    assert again == run_dir
    assert "4 finished cells reused, 0 computed" in err, err
    assert "recomputing" not in err
    assert cells(run_dir) == before


@pytest.mark.slow  # real runs, twice
def test_replaced_image_recomputes_and_summary_follows_it(tmp_path: Path, data_dir: Path, capsys) -> None:
    cfg = experiment(tmp_path, data_dir)
    run_dir, _ = run(cfg, tmp_path / "runs", capsys)
    old_rows = {(r["method"], r["rate_point"], r["item"]): r for r in points(run_dir)}
    write_crop(data_dir, 23, tmp_path / "imgs" / "b.png")  # other content, same name
    new_sha = sha256_file(tmp_path / "imgs" / "b.png")

    again, err = run(cfg, tmp_path / "runs", capsys)
    assert again == run_dir
    assert "recomputing 2 cells of j444: b changed (sha256)" in err, err
    assert "recomputing 2 cells of j420: b changed (sha256)" in err, err
    assert "reused" not in err  # every cell holds b, so none is reused
    for path in run_dir.glob("cells/*/*.json"):
        rows = {r["item"]: r for r in json.loads(path.read_text())["rows"]}
        assert rows["b"]["sha256"] == new_sha
    new_rows = {(r["method"], r["rate_point"], r["item"]): r for r in points(run_dir)}
    for key, row in new_rows.items():  # JPEG is deterministic: a and c as before, b measured anew
        assert (row["bpp"] == old_rows[key]["bpp"]) == (key[2] != "b"), key

    # the resumed summary is the one a run from scratch on the new images gives
    fresh_dir, _ = run(cfg, tmp_path / "fresh", capsys)
    resumed, scratch = (json.loads((d / "summary.json").read_text()) for d in (run_dir, fresh_dir))
    assert resumed["methods"] == scratch["methods"]


@pytest.mark.slow  # real runs, twice
@pytest.mark.parametrize(
    "edit, reason",
    [
        (lambda c: c["meta"].update(chroma="420"), "method changed (chroma '420' -> '444')"),
        (
            lambda c: c["meta"].update(version="libjpeg-turbo 0.0.1"),
            "method changed (version 'libjpeg-turbo 0.0.1' -> ",
        ),
        (
            lambda c: c["inputs"]["code"].update({"bench/codecs/jpeg.py": "0" * 16}),
            "bench/codecs/jpeg.py changed (code)",
        ),
        (lambda c: c["inputs"].update(metrics=["psnr-rgb", "psnr-y"]), "metric set changed (-psnr-y)"),
        (lambda c: c["inputs"]["sources"].update(a="0" * 16), "a changed when decoded (loader, crop or scenario)"),
        (lambda c: c.pop("inputs"), "no record of what it was computed from"),
    ],
    ids=["options", "codec-version", "code", "metrics", "decoded-source", "older-bench"],
)
def test_cell_from_other_inputs_is_recomputed(tmp_path: Path, data_dir: Path, capsys, edit, reason: str) -> None:
    """A cell on disk as another codec option, codec version, source or metric set would have left it."""
    cfg = experiment(tmp_path, data_dir)
    run_dir, _ = run(cfg, tmp_path / "runs", capsys)
    target = run_dir / "cells" / "j444" / "80.json"
    cell = json.loads(target.read_text())
    edit(cell)
    target.write_text(json.dumps(cell))

    _, err = run(cfg, tmp_path / "runs", capsys)
    assert f"recomputing 1 cell of j444: {reason}" in err, err
    assert "3 finished cells reused, 1 computed" in err, err
    redone = json.loads(target.read_text())
    assert redone["meta"]["chroma"] == "444" and redone["inputs"]["metrics"] == ["psnr-rgb"]


@pytest.mark.slow  # a real run, then `bench run` in a fresh process against a broken store
@pytest.mark.parametrize("break_store", ["corrupt-db", "bad-uri", "bad-uri-fresh"])
def test_failed_rerun_keeps_the_finished_summary(tmp_path: Path, data_dir: Path, capsys, break_store: str) -> None:
    cfg = experiment(tmp_path, data_dir)
    out = tmp_path / "runs"
    run_dir, _ = run(cfg, out, capsys)
    summary = (run_dir / "summary.json").read_bytes()
    before = cells(run_dir)
    args = ["run", str(cfg), "--out", str(out)]
    if break_store == "corrupt-db":
        (out / "mlflow.db").write_bytes(b"this is not an sqlite database" * 100)
    else:
        args += ["--tracking-uri", "nosuch://store"] + (["--fresh"] if break_store == "bad-uri-fresh" else [])
    proc = bench_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "MLflow tracking store" in errors[0] and "failed" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert (run_dir / "summary.json").read_bytes() == summary
    assert cells(run_dir) == before


def test_colliding_rate_points_are_one_config_error(bench_app, tmp_path: Path, data_dir: Path) -> None:
    cfg = experiment(tmp_path, data_dir)
    doc = yaml.safe_load(cfg.read_text())
    doc["methods"][0]["options"]["tables"] = "flat"  # flat-table steps are real numbers
    doc["methods"][0]["rate_points"] = [8.0000001, 8.0000004]
    cfg.write_text(yaml.safe_dump(doc, sort_keys=False))
    res = bench_app("run", str(cfg), "--out", str(tmp_path / "runs"))
    assert res.exit_code == 2, res.output
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, res.stderr
    assert "methods.0 (j444).rate_points: 8.0000001 and 8.0000004 both file as '8'" in errors[0], errors[0]
    assert not list((tmp_path / "runs").rglob("cells"))


def sandwich_doc(tmp: Path, data_dir: Path, **sandwich) -> dict:
    """A tiny gray400 experiment: luma JPEG and a 2-step sandwich trained on two crops."""
    train = tmp / "train"
    train.mkdir(exist_ok=True)
    for name, n in (("t1", 5), ("t2", 7)):
        write_crop(data_dir, n, train / f"{name}.png")
    cfg = experiment(tmp, data_dir)
    doc = yaml.safe_load(cfg.read_text())
    net = {"encoder": [4], "decoder": [4, 4], "alpha0": 1.0}
    doc.update(
        scenario="gray400",
        data={**doc["data"], "train": {"folder": str(train), "glob": "*.png"}},
        evaluation={**doc["evaluation"], "anchor": "j400"},
    )
    doc["methods"] = [
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
            "lambdas": [1.0],
            "step_factors": [1.0, 2.0],
            "pre": net,
            "post": net,
            "train": {"steps": 2, "batch": 2, "crop": 32, "check_every": 2, "log_every": 1},
            **sandwich,
        },
    ]
    return doc


@pytest.mark.parametrize(
    "sandwich, key, reason",
    [
        ({"lambdas": [0.01000001, 0.01000002]}, "lambdas", "0.01000001 and 0.01000002 both name the member 's.g0.01'"),
        ({"step_factors": [1.0, 1.0000001]}, "step_factors", "1.0 and 1.0000001 both file as '1'"),
    ],
)
def test_colliding_members_and_steps_are_rejected_at_plan(
    tmp_path: Path, data_dir: Path, sandwich, key: str, reason: str
) -> None:
    cfg = ExperimentConfig.model_validate(sandwich_doc(tmp_path, data_dir, **sandwich))
    with pytest.raises(ConfigError, match=rf"^methods\.1 \(s\)\.{key}: ") as exc:
        build_plan(cfg)
    assert reason in str(exc.value) and "\n" not in str(exc.value)


def stored_weights(run_dir: Path) -> Path:
    """The weights of the stored model the run's sandwich member used."""
    folder = linked_model(run_dir / "methods" / "s.g1")
    assert folder is not None
    return folder / "final.pt"


@pytest.mark.slow  # real training and runs
def test_trained_model_is_retrained_when_its_training_images_change(tmp_path: Path, data_dir: Path, capsys) -> None:
    cfg = tmp_path / "sandwich.yaml"
    cfg.write_text(yaml.safe_dump(sandwich_doc(tmp_path, data_dir), sort_keys=False))
    run_dir, _ = run(cfg, tmp_path / "runs", capsys)
    final = stored_weights(run_dir)
    weights = sha256_file(final)

    _, err = run(cfg, tmp_path / "runs", capsys)
    assert "retraining" not in err and "4 finished cells reused, 0 computed" in err, err
    assert sha256_file(final) == weights

    write_crop(data_dir, 9, tmp_path / "train" / "t2.png")  # other content, same name
    _, err = run(cfg, tmp_path / "runs", capsys)
    assert "retraining s.g1: training items: t2 changed (sha256)" in err, err
    assert sha256_file(stored_weights(run_dir)) != weights
    assert sha256_file(final) == weights  # the earlier model stays in the store
    assert "recomputing 2 cells of s.g1: its trained weights changed" in err, err
    assert "2 finished cells reused, 2 computed" in err, err  # j400's cells did not change


@pytest.mark.slow  # real training and runs
def test_half_done_training_on_other_images_starts_over(kodim, tmp_path: Path, capsys) -> None:
    from tests.test_sandwich_train import Interrupt, Log, cfg

    scenario = SCENARIOS.get("gray400")
    c = cfg(300.0, 6)  # a checkpoint every 5 steps
    images = [kodim(n)[:64, :64] for n in (3, 5)]
    digests = {f"i{k}": hashlib.sha256(img.tobytes()).hexdigest() for k, img in enumerate(images)}
    with pytest.raises(KeyboardInterrupt):
        train(
            image_sandwich(scenario, c, 3, step=8.0),
            c.train,
            300.0,
            images,
            device="cpu",
            seed=0,
            workdir=tmp_path,
            log=Interrupt(6),
            name="m",
            inputs={"items": digests},
        )
    assert (tmp_path / "checkpoint.pt").is_file()

    images[1] = kodim(19)[:64, :64]
    log = Log()
    capsys.readouterr()
    train(
        image_sandwich(scenario, c, 3, step=8.0),
        c.train,
        300.0,
        images,
        device="cpu",
        seed=0,
        workdir=tmp_path,
        log=log,
        name="m",
        inputs={"items": {**digests, "i1": hashlib.sha256(images[1].tobytes()).hexdigest()}},
    )
    err = capsys.readouterr().err
    assert "m: not resuming checkpoint.pt (training items: i1 changed (sha256)); training from the start" in err, err
    assert [s for s, v in log.rows if "loss" in v][0] == 1
