"""Where shared data lives: $SANDWICH_DATA, else ../shared/data beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    """The folder named datasets (``kodak``, ``train/bsds500`` ...) resolve against."""
    env = os.environ.get("SANDWICH_DATA")
    if env:
        return Path(env).expanduser().resolve()
    return (REPO_ROOT.parent / "shared" / "data").resolve()
