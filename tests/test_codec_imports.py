"""``bench.codecs`` and ``bench.colour`` stand on their own: the import rule of docs/design.md, checked."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ALLOWED = ("bench.codecs.", "bench.colour", "bench.errors", "bench.registry")


def harness_imports(path: Path) -> list[str]:
    """Every ``bench``/``baselines``/``sandwich``/``proxies``/``reports`` module ``path`` imports."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names += [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return [n for n in names if n.split(".")[0] in ("bench", "baselines", "sandwich", "proxies", "reports")]


def test_codecs_and_colour_import_only_errors_registry_and_colour() -> None:
    files = [REPO / "bench" / "colour.py", *sorted((REPO / "bench" / "codecs").glob("*.py"))]
    wrong = {f"{f.name}: {n}" for f in files for n in harness_imports(f) if not n.startswith(ALLOWED)}
    assert not wrong


def test_codec_modules_do_not_import_their_package() -> None:
    """Only ``bench/codecs/__init__.py`` takes names from ``bench.codecs`` itself (no import cycle)."""
    modules = [f for f in (REPO / "bench" / "codecs").glob("*.py") if f.name != "__init__.py"]
    cyclic = [
        f.name
        for f in modules
        for node in ast.walk(ast.parse(f.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module == "bench.codecs"
    ]
    assert not cyclic
