"""LaTeX: each table as a booktabs fragment under ``tables/`` (to ``\\input`` into a paper) and
``report.tex``, a standalone article that inputs them with the PDF figures. Not compiled here:
the report must not need a TeX installation.
"""

from __future__ import annotations

from pathlib import Path

from reports.content import Content
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


def render(c: Content, out: Path) -> str:
    """The document; ``tables/*.tex`` must have been written by :func:`write_tables`."""
    tables = [c.runs, *c.bd, c.complexity]
    body = [
        PREAMBLE,
        rf"\title{{{tex_escape(c.title)}}}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        r"\section*{Summary}",
    ]
    body += [tex_escape(p) + "\n" for p in c.paragraphs]
    body += [rf"\input{{tables/{t.key}.tex}}" for t in tables]
    body += [_figure(next(p for p in f.vector if p.suffix == ".pdf"), out, f.title) for f in c.rd + c.training]
    body += [_figure(p.png, out, p.title, r"\linewidth") for p in c.visuals]
    body.append(r"\end{document}")
    return "\n".join(body) + "\n"
