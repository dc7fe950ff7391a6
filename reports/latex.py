"""LaTeX: each table as a booktabs fragment under ``tables/`` (to ``\\input`` into a paper) and
``report.tex``, a standalone article that inputs them with the PDF figures. Not compiled here:
the report must not need a TeX installation.
"""

from __future__ import annotations

from pathlib import Path

from reports.content import PER_ITEM, Content
from reports.figures import FigureFiles
from reports.tables import Table, tex_escape, to_latex

PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[margin=2cm,landscape]{geometry}
\usepackage{booktabs}
\usepackage{graphicx}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
"""


def write_tables(tables: list[Table], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for t in tables:
        path = folder / f"{t.key}.tex"
        path.write_text(to_latex(t))
        paths.append(path)
    return paths


def _figure(pdf: Path, out: Path, caption: str, width: str = r"0.48\linewidth") -> str:
    return (
        rf"\begin{{figure}}[t]\centering\includegraphics[width={width}]{{{pdf.relative_to(out).as_posix()}}}"
        rf"\caption{{{tex_escape(caption)}}}\end{{figure}}"
    )


def _pdf(f: FigureFiles) -> Path:
    return next(p for p in f.vector if p.suffix == ".pdf")


def render(c: Content, out: Path) -> str:
    """The document; ``tables/*.tex`` must have been written by :func:`write_tables`. The headline metric's BD
    table comes first, before the summary; the per-item figures and tables follow the RD figures."""
    body = [
        PREAMBLE,
        rf"\title{{{tex_escape(c.title)}}}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        rf"\input{{tables/{c.runs.key}.tex}}",
    ]
    if c.headline:
        body += [rf"\section*{{Headline: {tex_escape(c.comp.headline)}}}", rf"\input{{tables/{c.headline.key}.tex}}"]
    body.append(r"\section*{Summary}")
    body += [tex_escape(p) + "\n" for p in c.paragraphs]
    body += [_figure(_pdf(f), out, f.title) for f in c.rd]
    if c.per_item or c.per_item_notes:
        body += [rf"\section*{{Per item: {tex_escape(c.comp.headline)}}}", tex_escape(PER_ITEM) + "\n"]
    body += [_figure(_pdf(f), out, f.title, r"\linewidth") for f in c.per_item]
    body += [rf"\input{{tables/{t.key}.tex}}" for t in c.per_item_tables]
    body += [tex_escape(n) + "\n" for n in c.per_item_notes]
    body += [rf"\input{{tables/{t.key}.tex}}" for t in [*c.bd, c.complexity]]
    body += [_figure(_pdf(f), out, f.title) for f in c.training]
    body += [_figure(p.png, out, p.title, r"\linewidth") for p in c.visuals]
    body.append(r"\end{document}")
    return "\n".join(body) + "\n"
