"""Published RD curves (CompressAI-schema JSON) as reference methods.

They are drawn and used as BD anchors, but never run and never written as our own results:
their label always says "published" and their role is ``reference``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.config import ReferenceMethodConfig
from bench.errors import ConfigError


class PublishedCurve:
    def __init__(self, cfg: ReferenceMethodConfig, path: Path) -> None:
        self.cfg, self.path = cfg, path
        self.name, self.role = cfg.name, "reference"
        try:
            doc = json.loads(path.read_text())
            results = doc["results"]
            n = len(results["bpp"])
        except FileNotFoundError:
            raise ConfigError(f"method {cfg.name!r}: published curve not found: {path}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"method {cfg.name!r}: {path} is not a CompressAI-schema results JSON "
                              f"(needs results.bpp and metric lists): {exc}") from None
        bad = [k for k, v in results.items() if not isinstance(v, list) or len(v) != n]
        if bad:
            raise ConfigError(f"method {cfg.name!r}: {path}: lists {', '.join(bad)} differ in length from bpp")
        self.doc = doc
        self.results: dict[str, list[float]] = {k: [float(x) for x in v] for k, v in results.items()}
        self.label = cfg.label or f"{doc.get('name', cfg.name)} (published)"

    def metrics(self) -> list[str]:
        return [k for k in self.results if k != "bpp"]

    def describe(self) -> dict[str, Any]:
        return {"kind": "reference", "path": str(self.path), "name": self.doc.get("name"),
                "description": self.doc.get("description", "")}
