"""``report.pdf`` through matplotlib's ``PdfPages``: summary and tables as text pages, then the
figures as vector pages and the visual comparisons as images. Cheap and TeX-free; for a
typeset document compile ``report.tex`` instead.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.backends.backend_pdf import PdfPages

from reports.tables import Table, all_notes

PAGE = (11.69, 8.27)  # A4 landscape, inches


class PdfReport:
    """Pages are added in reading order; figures arrive through :meth:`savefig` (a ``sink``)."""

    def __init__(self, path: Path) -> None:
        self.pages = PdfPages(path)

    def savefig(self, fig: plt.Figure) -> None:
        self.pages.savefig(fig)

    def text(self, title: str, paragraphs: list[str]) -> None:
        fig = plt.figure(figsize=PAGE)
        fig.text(0.05, 0.93, title, fontsize=16, weight="bold", va="top")
        body = "\n\n".join(textwrap.fill(p, 150) for p in paragraphs)
        fig.text(0.05, 0.86, body, fontsize=9, va="top", family="DejaVu Sans")
        self.pages.savefig(fig)
        plt.close(fig)

    def table(self, t: Table) -> None:
        fig = plt.figure(figsize=PAGE)
        fig.text(0.05, 0.95, t.title, fontsize=12, weight="bold", va="top")
        ax = fig.add_axes((0.05, 0.25, 0.9, 0.65))
        ax.axis("off")
        if t.rows:
            tab = ax.table(cellText=t.rows, colLabels=t.columns, loc="upper left", cellLoc="left", colLoc="left")
            tab.auto_set_font_size(False)
            tab.set_fontsize(7)
            tab.auto_set_column_width(list(range(len(t.columns))))
        notes = "\n".join(textwrap.fill(n, 170) for n in all_notes(t))
        fig.text(0.05, 0.03, notes, fontsize=7, va="bottom")
        self.pages.savefig(fig)
        plt.close(fig)

    def image(self, png: Path, title: str) -> None:
        img = plt.imread(png)
        fig = plt.figure(figsize=PAGE)
        fig.text(0.05, 0.95, title, fontsize=11, va="top")
        ax = fig.add_axes((0.03, 0.05, 0.94, 0.85))
        ax.imshow(img, interpolation="nearest")
        ax.axis("off")
        self.pages.savefig(fig)
        plt.close(fig)

    def close(self) -> None:
        self.pages.close()
