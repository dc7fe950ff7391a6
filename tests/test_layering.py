"""The import rules of docs/design.md, checked on the source (every import, lazy ones included)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bench", "baselines", "sandwich", "proxies", "reports")
DRIVERS = ("bench.cli", "bench.runner", "bench.plan", "bench.evaluate", "bench.summary")  # what runs an experiment
LEAVES = ("bench.errors", "bench.registry", "bench.colour", "bench.source")  # modules anything may import


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> set[str]:
    """The project modules ``module`` imports anywhere in its file."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = [f"{node.module}.{a.name}" for a in node.names]
            # ``from pkg import submodule`` imports the submodule; a package's own names need its __init__
            names = subs + ([node.module] if any(sub not in MODULES for sub in subs) else [])
        found |= {r for n in names if (r := _resolve(n)) and r != module}
    return found


def within(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def violations(rule: str) -> Iterator[str]:
    for mod in sorted(MODULES):
        for dep in sorted(imports(mod)):
            if RULES[rule](mod, dep):
                yield f"{mod} imports {dep}"


RULES = {
    "nothing imports the command line": lambda m, d: d == "bench.cli",
    "the harness never imports a method plug-in or the reports (bench.cli excepted)": lambda m, d: (
        within(m, "bench") and m != "bench.cli" and within(d, "baselines", "sandwich", "reports")
    ),
    "plug-ins and reports never import the experiment drivers": lambda m, d: (
        within(m, "baselines", "sandwich", "reports", "proxies") and within(d, *DRIVERS)
    ),
    "baselines never import the sandwich": lambda m, d: within(m, "baselines") and within(d, "sandwich", "reports"),
    "the sandwich never imports the reports": lambda m, d: within(m, "sandwich") and within(d, "reports"),
    "reports never import a method plug-in": lambda m, d: within(m, "reports") and within(d, "baselines", "sandwich"),
    "proxies take from bench only the codecs and leaves": lambda m, d: (
        within(m, "proxies") and within(d, *PACKAGES) and not within(d, "proxies", "bench.codecs", *LEAVES)
    ),
    "codecs and RD maths stand alone": lambda m, d: (
        within(m, "bench.codecs", "bench.rd")
        and within(d, *PACKAGES)
        and not within(d, m.rsplit(".", 1)[0] if m.count(".") > 1 else m, "bench.codecs", *LEAVES)
    ),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_import_rule(rule: str) -> None:
    assert not list(violations(rule)), rule


def test_no_import_cycles() -> None:
    graph = {m: imports(m) for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while (w := stack.pop()) != v:
                comp.append(w)
            if comp:
                cycles.append(sorted([v, *comp]))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, cycles
