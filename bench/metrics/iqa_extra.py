"""Optional extra full-reference metrics from pyiqa, used only when the user installed it.

pyiqa is PolyForm-Noncommercial licensed and imports torchvision, so it is never a dependency
(``pip install -e '.[iqa]'`` in the repository is the opt-in). Without it, ``extra_metrics`` returns {}.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from bench.errors import BenchError
from bench.metrics.common import check_pair, peak

EXTRA = ("dists", "fsim", "vif", "gmsd")
LOWER_IS_BETTER = frozenset({"pyiqa-dists", "pyiqa-gmsd"})


def available() -> bool:
    """True when pyiqa and torchvision are both installed (checked without importing them)."""
    return all(importlib.util.find_spec(m) is not None for m in ("pyiqa", "torchvision"))


def extra_metrics(ref: np.ndarray, dist: np.ndarray, bitdepth: int = 8) -> dict[str, float]:
    """``pyiqa-<name>`` for each of EXTRA, or {} when pyiqa is not installed."""
    if not available():
        return {}
    ref, dist = check_pair(ref, dist, bitdepth)
    try:
        import pyiqa
        import torch
    except (ImportError, RuntimeError, OSError) as exc:  # e.g. a CUDA torchvision beside CPU torch
        raise BenchError(
            f"pyiqa is installed but cannot be imported ({exc}); fix or uninstall it (pip uninstall pyiqa)"
        ) from None

    def tensor(img: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(img.astype(np.float32) / np.float32(peak(bitdepth)))
        x = x.permute(2, 0, 1).unsqueeze(0)
        return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x[:, :3]

    x, y = tensor(dist), tensor(ref)
    with torch.no_grad():
        return {f"pyiqa-{name}": float(pyiqa.create_metric(name, device="cpu")(x, y)) for name in EXTRA}
