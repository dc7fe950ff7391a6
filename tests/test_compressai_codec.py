"""CompressAI through real entropy coding: tiny models trained here, real Kodak crops, real bytes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from baselines.compressai_codec import decode, header_bytes, pack, unpack
from baselines.compressai_zoo import ARCHS, weight_file_name
from baselines.learned import CompressAIMethod
from bench.config import CompressAIMethodConfig, DatasetConfig
from bench.data import resolve_dataset
from bench.errors import BenchError
from bench.method import PrepareContext

TINY = {
    "bmshj2018-factorized": [16, 24],
    "bmshj2018-hyperprior": [16, 24],
    "mbt2018-mean": [16, 24],
    "cheng2020-anchor": [16],
}


class NoLog:
    def __init__(self) -> None:
        self.points: list[tuple[int, dict[str, float]]] = []

    def metrics(self, values: dict[str, float], step: int) -> None:
        self.points.append((step, values))

    def model(self, folder: Path) -> None:
        pass

    def tags(self, values: dict[str, str]) -> None:
        pass


def tiny_cfg(arch: str, steps: int = 3, **over: Any) -> CompressAIMethodConfig:
    doc = {
        "name": "cai",
        "kind": "compressai",
        "arch": arch,
        "qualities": [3],
        "weights": "trained_here",
        "channels": TINY[arch],
        "train": {"steps": steps, "batch": 2, "crop": 64},
        **over,
    }
    return CompressAIMethodConfig.model_validate(doc)


@pytest.fixture(scope="module")
def train_items(data_dir: Path) -> tuple[Any, ...]:
    return resolve_dataset(DatasetConfig(set="bsds500", max_items=4), "data.train").items


def prepared(
    cfg: CompressAIMethodConfig, workdir: Path, items: tuple[Any, ...], log: NoLog | None = None
) -> CompressAIMethod:
    method = CompressAIMethod(cfg)
    method.prepare(PrepareContext(workdir, items, "cpu", 0, log or NoLog()))
    return method


def test_stream_layout_round_trips() -> None:
    strings = [b"\x01\x02\x03", b"", b"xyz" * 100]
    stream = pack(100, 130, strings)
    assert len(stream) == header_bytes(3) + sum(map(len, strings))
    assert unpack(stream, 3) == (100, 130, strings)
    with pytest.raises(BenchError, match="65535"):
        pack(70000, 10, [b"a"])


@pytest.mark.slow  # trains CompressAI models
@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_trained_here_decodes_bit_exactly_from_its_own_stream(arch: str, tmp_path: Path, train_items, kodim) -> None:
    """A fresh decoder (a new model from the checkpoint) rebuilds the run's pixels from the bytes."""
    source = kodim(23)[40:90, 200:300].copy()  # 50 x 100: padded to 64 x 128 for coding
    method = prepared(tiny_cfg(arch), tmp_path, train_items)
    res = method.run_frame(source, 8, 3.0)
    assert res.decoded.shape == source.shape and res.decoded.dtype == np.uint8
    assert res.nbytes > 0 and res.extra["header_bytes"] == header_bytes(ARCHS[arch].n_strings)

    model = method._models[3]
    encoded = model.compress(
        torch.nn.functional.pad(
            torch.from_numpy(source).permute(2, 0, 1)[None].float() / 255, (0, 28, 0, 14), mode="replicate"
        )
    )
    strings = [s[0] for s in encoded["strings"]]
    assert res.nbytes == sum(map(len, strings)) + header_bytes(len(strings))

    fresh = prepared(tiny_cfg(arch), tmp_path, train_items)  # reloads the finished checkpoint
    x_hat, _ = decode(fresh._models[3], pack(50, 100, strings), ARCHS[arch])
    again = (x_hat[0].permute(1, 2, 0) * 255).round().clamp(0, 255).to(torch.uint8).numpy()
    assert np.array_equal(again, res.decoded)
    assert not np.array_equal(res.decoded, source)  # lossy: the pixels come from the decoder


@pytest.mark.slow  # trains CompressAI models
def test_training_logs_resumes_and_retrains_on_a_new_spec(tmp_path: Path, train_items) -> None:
    log = NoLog()
    first = prepared(tiny_cfg("bmshj2018-factorized", steps=26), tmp_path, train_items, log)
    assert [step for step, _ in log.points] == [25, 26]
    d = first.describe()
    assert d["weights"] == "trained_here" and d["train"]["steps"] == 26 and d["compressai"].startswith("1.")
    assert d["train"]["lambdas"] == {3: 0.0067} and "sha256:" in d["weight_files"][3]
    assert d["train"]["lr_entropy"] == d["train"]["lr"] == 1e-4  # CompressAI's single lr unless raised
    ckpt = tmp_path / "bmshj2018-factorized-mse-q3.pt"
    stamp = ckpt.stat().st_mtime_ns
    again_log = NoLog()
    prepared(tiny_cfg("bmshj2018-factorized", steps=26), tmp_path, train_items, again_log)
    assert ckpt.stat().st_mtime_ns == stamp and again_log.points == []  # finished: reused, not retrained
    other = prepared(tiny_cfg("bmshj2018-factorized", steps=2), tmp_path, train_items)
    assert ckpt.stat().st_mtime_ns != stamp  # another spec: trained again
    assert "trained here, 26 steps" in first.label and "trained here, 2 steps" in other.label


def test_missing_pretrained_weights_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # an empty hub cache
    cfg = CompressAIMethodConfig(name="pub", kind="compressai", arch="bmshj2018-factorized", qualities=[3])
    name = weight_file_name("bmshj2018-factorized", "mse", 3)
    with pytest.raises(BenchError) as exc:
        CompressAIMethod(cfg)
    msg = str(exc.value)
    assert msg.startswith("weights for bmshj2018-factorized q=3 (mse) not found: place ")
    assert f"place {name} in {tmp_path / 'torch' / 'hub' / 'checkpoints'} (from https://" in msg
    assert msg.endswith("or set weights: trained_here")


@pytest.mark.slow  # trains CompressAI models
def test_pretrained_file_in_checkpoint_dir_is_used(tmp_path: Path, train_items, kodim) -> None:
    """A zoo-layout file placed in checkpoint_dir is found, loaded and labelled as published."""
    trained = prepared(tiny_cfg("bmshj2018-hyperprior"), tmp_path / "train", train_items)
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    ckpt = torch.load(tmp_path / "train" / "bmshj2018-hyperprior-mse-q3.pt", weights_only=True)
    torch.save(ckpt["state_dict"], zoo / weight_file_name("bmshj2018-hyperprior", "mse", 3))
    cfg = CompressAIMethodConfig(
        name="pub", kind="compressai", arch="bmshj2018-hyperprior", qualities=[3], checkpoint_dir=zoo
    )
    published = CompressAIMethod(cfg, zoo)
    published.prepare(PrepareContext(tmp_path / "w", (), "cpu", 0, NoLog()))
    assert published.label == "bmshj2018-hyperprior (published weights)"
    source = kodim(5)[:64, :64].copy()
    a, b = trained.run_frame(source, 8, 3), published.run_frame(source, 8, 3)
    assert a.nbytes == b.nbytes and np.array_equal(a.decoded, b.decoded)
    shutil.rmtree(zoo)


@pytest.mark.slow  # trains CompressAI models
def test_rejects_non_rgb8_sources(tmp_path: Path, train_items) -> None:
    method = prepared(tiny_cfg("bmshj2018-factorized"), tmp_path, train_items)
    with pytest.raises(BenchError, match="8-bit RGB"):
        method.run_frame(np.zeros((64, 64, 1), np.uint8), 8, 3)
