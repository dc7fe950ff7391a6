"""Published RD curves (CompressAI-schema JSON) as reference methods.

They are drawn and used as BD anchors, but never run and never written as our own results:
their label always says "published" and their role is ``reference``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.config import ReferenceMethodConfig
from bench.errors import BenchError, ConfigError
from bench.rd import load_results


class PublishedCurve:
    def __init__(self, cfg: ReferenceMethodConfig, path: Path) -> None:
        self.cfg, self.path = cfg, path
        self.name, self.role = cfg.name, "reference"
        if not path.is_file():
            raise ConfigError(f"method {cfg.name!r}: published curve not found: {path}")
        try:
            loaded = load_results(path)
        except BenchError as exc:
            raise ConfigError(f"method {cfg.name!r}: {exc}") from None
        self.source_name, self.source_description = loaded.name, loaded.description
        self.results: dict[str, list[float]] = {k: [float(x) for x in v] for k, v in loaded.results.items()}
        self.label = cfg.label or f"{loaded.name} (published)"

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "reference",
            "path": str(self.path),
            "name": self.source_name,
            "description": self.source_description,
        }
