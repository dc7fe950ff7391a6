"""What ``bench list`` shows: every name a config can use with its one-line description, and the experiments.

Why descriptions: a name alone (``rgb420``, ``av1-ld``) does not say what it is; each comes from where the
entry is defined (a scenario's and a metric's ``description``, a codec's or a method kind's docstring), so
the list cannot drift from the code.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bench.paths import REPO_ROOT

EXPERIMENTS = REPO_ROOT / "experiments"


def first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n", 1)[0]


def experiments(folder: Path = EXPERIMENTS) -> list[tuple[str, str]]:
    """(path, description and profiles) of each experiment YAML in ``folder``, as the files declare them."""
    out = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            out.append((str(path.relative_to(REPO_ROOT)), f"(unreadable: {exc})"))
            continue
        profiles = list(doc.get("profiles") or {})
        extra = f" [profiles: {', '.join(profiles)}]" if profiles else ""
        out.append((str(path.relative_to(REPO_ROOT)), f"{doc.get('description', '')}{extra}"))
    return out


def sections() -> list[tuple[str, list[tuple[str, str]]]]:
    """(title, [(name, description)]) per kind of name, then the experiments."""
    from bench.codecs import CODECS
    from bench.config import method_kind_docs
    from bench.data import NAMED_SETS_ABOUT, named_set_names
    from bench.metrics import METRICS
    from bench.scenarios import SCENARIOS

    def codec(name: str) -> str:
        cls = CODECS.get(name)
        return f"({'inter' if cls.inter else 'intra'}) {first_line(cls.__doc__)}"

    def metric(name: str) -> str:
        m = METRICS.get(name)
        return m.description + ("" if "video" in m.modalities else " (images only)")

    return [
        ("scenarios", [(n, SCENARIOS.get(n).description) for n in SCENARIOS.names()]),
        ("method kinds", [(n, first_line(doc)) for n, doc in method_kind_docs().items()]),
        ("codecs (intra: images, inter: data.eval.video)", [(n, codec(n)) for n in CODECS.names()]),
        ("metrics", [(n, metric(n)) for n in METRICS.names()]),
        ("named datasets", [(n, NAMED_SETS_ABOUT.get(n, "")) for n in named_set_names()]),
        ("experiments", experiments()),
    ]
