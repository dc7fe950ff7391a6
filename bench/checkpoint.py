"""Checkpoints: saved atomically under a unique temporary name, loaded without running any code.

Why: a checkpoint is a pickle, and ``torch.load(weights_only=False)`` executes whatever a crafted
file holds (a ``final.pt`` in a shared run folder, an ``init_from`` file someone sent). Only
tensors and plain data (dicts, lists, numbers, strings) are stored, so the restricted unpickler
of ``weights_only=True`` reads every checkpoint this project writes and refuses anything else.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import torch

from bench.errors import DataError
from bench.io_utils import write_bytes_atomic


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (tensors and plain data only) so a killed process never leaves a torn file."""
    buf = io.BytesIO()
    torch.save(state, buf)
    write_bytes_atomic(path, buf.getvalue())


def load_checkpoint(path: Path, device: str | torch.device = "cpu") -> dict[str, Any]:
    """The dict stored at ``path``; a file holding code, or not a checkpoint at all, is a one-line error."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(
            f"{path} is not a plain-weights checkpoint and was not loaded (it would run code on "
            f"load: {first[:200]}); delete it, or re-create it with this version of bench"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise DataError(
            f"{path} is not a readable checkpoint ({type(e).__name__}: {str(e)[:200]}); delete it to retrain"
        ) from None
    if not isinstance(state, dict):
        raise DataError(f"{path} holds a {type(state).__name__}, not a checkpoint dict; delete it to retrain")
    return state
