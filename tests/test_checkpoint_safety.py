"""Checkpoints load without running code: a crafted pickle is refused with one line, nothing executes."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench.checkpoint import load_checkpoint, save_checkpoint
from bench.errors import DataError


class _Payload:
    """Unpickling this calls ``os.system`` -- what a crafted ``final.pt`` would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def _crafted(path: Path, marker: Path) -> Path:
    with open(path, "wb") as f:
        pickle.dump({"model": _Payload(marker), "steps": 1}, f)
    return path


def test_crafted_pickle_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = _crafted(tmp_path / "final.pt", marker)
    with pytest.raises(DataError) as e:
        load_checkpoint(path)
    assert not marker.exists()
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg and "not a plain-weights checkpoint" in msg


@pytest.mark.slow  # real training
def test_training_refuses_a_crafted_final_checkpoint(tmp_path: Path) -> None:
    """The run folder's final.pt is read by the trainer: through the CLI path it is one ``error:`` line."""
    marker = tmp_path / "pwned"
    _crafted(tmp_path / "final.pt", marker)
    code = (
        "import numpy as np, torch\n"
        "from bench.config import SandwichMethodConfig\nfrom sandwich.model import image_sandwich\n"
        "from bench.scenarios import SCENARIOS\nfrom sandwich.train import train\n"
        "from bench.errors import BenchError\n"
        "net = {'encoder': [4], 'decoder': [4, 4], 'alpha0': 1.0}\n"
        "c = SandwichMethodConfig.model_validate({'name': 't', 'kind': 'sandwich', 'lambdas': [1.0],"
        " 'pre': net, 'post': net, 'train': {'steps': 2, 'batch': 1, 'crop': 16}})\n"
        "m = image_sandwich(SCENARIOS.get('gray400'), c, 3, step=8.0)\n"
        "class L:\n  def metrics(self, *a): pass\n  def tags(self, *a): pass\n  def model(self, *a): pass\n"
        "try:\n"
        f"  train(m, c.train, 1.0, [np.zeros((32, 32, 3), np.uint8)], device='cpu', seed=0,"
        f" workdir=__import__('pathlib').Path({str(tmp_path)!r}), log=L(), name='t')\n"
        "except BenchError as e:\n  print('error:', e); raise SystemExit(2)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert not marker.exists()
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "final.pt" in lines[0]


def test_checkpoint_with_rng_states_round_trips(tmp_path: Path) -> None:
    """What training stores (weights, Adam state, numpy and torch RNG states) loads under weights_only."""
    import numpy as np

    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    rng = np.random.default_rng(5)
    state = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "rng": rng.bit_generator.state,
        "torch_rng": torch.get_rng_state(),
        "steps": 3,
        "checks": [{"real_psnr": 30.0}],
        "seconds": 1.5,
    }
    save_checkpoint(tmp_path / "c.pt", state)
    back = load_checkpoint(tmp_path / "c.pt")
    assert back["rng"] == state["rng"] and back["steps"] == 3 and back["checks"] == state["checks"]
    assert torch.equal(back["torch_rng"], state["torch_rng"])
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary left behind


def test_truncated_checkpoint_is_a_one_line_error(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "c.pt", {"w": torch.ones(100)})
    data = (tmp_path / "c.pt").read_bytes()
    (tmp_path / "c.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "c.pt")
