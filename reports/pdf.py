"""``report.pdf``: one document from the report's content (title, summary, tables, figures flowing over A4
pages, in the Markdown report's order), typeset by fpdf2: pure Python, no TeX, no browser. Text uses
matplotlib's bundled DejaVu Sans, embedded as a TrueType subset (never a Type 3 font), so no system font is
needed and the PDF shows the same glyphs everywhere (−, ², …). Figures are their PNGs at the size they were
drawn (a paper column, or the text width); for a typeset paper compile ``report.tex`` instead.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.fonts import FontFace
from PIL import Image

from reports.content import PER_ITEM, Content
from reports.figures import PNG_DPI, FigureFiles
from reports.tables import Table, all_notes

FONT = "DejaVu"
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
VISUAL_DPI = 150  # visual comparisons are 1:1 pixel crops: printed at this density, shrunk only to fit
MM_PER_IN = 25.4


class _Document(FPDF):
    """A4 portrait, 15 mm margins, page numbers in the footer."""

    def __init__(self, title: str) -> None:
        super().__init__(format="A4")
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=15)
        self.add_font(FONT, "", FONT_DIR / "DejaVuSans.ttf")
        self.add_font(FONT, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
        self.add_font(FONT, "I", FONT_DIR / "DejaVuSans-Oblique.ttf")
        self.set_title(title)
        self.set_creator("sandwich-bench report")

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FONT, "", 7)
        self.cell(0, 4, str(self.page_no()), align="C")

    def heading(self, text: str, size: float = 11) -> None:
        if self.will_page_break(20):
            self.add_page()
        self.ln(2)
        self.set_font(FONT, "B", size)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def paragraph(self, text: str, size: float = 8.5, style: str = "") -> None:
        self.set_font(FONT, style, size)
        self.multi_cell(0, size * 0.45, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)

    def table_of(self, t: Table) -> None:
        self.heading(t.title, 8.5)
        if t.rows:
            self.set_font(FONT, "", 6.5)
            # a column's share of the width follows its longest line, bounded so none collapses
            widths = [max(min(max(len(r[i]) for r in [t.columns, *t.rows]), 40), 5) for i in range(len(t.columns))]
            align = tuple("RIGHT" if a == "r" else "LEFT" for a in t.align)
            with self.table(
                col_widths=tuple(widths),
                text_align=align,
                line_height=3.2,
                headings_style=FontFace(emphasis="BOLD"),
                borders_layout="HORIZONTAL_LINES",
                padding=0.6,
            ) as table:
                for row in [t.columns, *t.rows]:
                    cells = table.row()
                    for value in row:
                        cells.cell(value)
        self.ln(1)
        for note in all_notes(t):
            self.paragraph(note, 6.5)
        self.ln(1)

    def figure(self, png: Path, caption: str, dpi: float) -> None:
        with Image.open(png) as im:
            w_px, h_px = im.size
        w = min(w_px / dpi * MM_PER_IN, self.epw)
        h = w * h_px / w_px
        if self.will_page_break(h + 8):
            self.add_page()
        self.image(str(png), x=self.l_margin + (self.epw - w) / 2, w=w, h=h)
        self.ln(1)
        self.paragraph(caption, 7, "I")


def _figures(doc: _Document, figures: list[FigureFiles]) -> None:
    for f in figures:
        doc.figure(f.png, f.title, PNG_DPI)


def render(c: Content, path: Path) -> Path:
    """Write ``path``; the headline metric's BD table is the first results section, as in every format."""
    doc = _Document(c.title)
    doc.add_page()
    doc.set_font(FONT, "B", 15)
    doc.multi_cell(0, 7, c.title, new_x="LMARGIN", new_y="NEXT")
    doc.ln(3)
    doc.table_of(c.runs)
    if c.headline:
        doc.heading(f"Headline: {c.comp.headline}")
        doc.table_of(c.headline)
    doc.heading("Summary")
    for p in c.paragraphs:
        doc.paragraph(p)
    doc.heading("Rate–distortion")
    doc.paragraph("Solid: sandwich; dashed: baselines; dotted: published references (by role). MS-SSIM in dB.")
    _figures(doc, c.rd)
    if c.per_item or c.per_item_notes:
        doc.heading(f"Per item: {c.comp.headline}")
        doc.paragraph(PER_ITEM)
    _figures(doc, c.per_item)
    for t in c.per_item_tables:
        doc.table_of(t)
    for n in c.per_item_notes:
        doc.paragraph(n, style="I")
    doc.heading("BD-rate and BD-PSNR")
    for t in c.bd:
        doc.table_of(t)
    doc.heading("Visual comparison")
    for v in c.visuals:
        doc.figure(v.png, v.title, VISUAL_DPI)
    for n in c.visual_notes:
        doc.paragraph(n, style="I")
    doc.heading("Complexity")
    doc.table_of(c.complexity)
    doc.heading("Training")
    _figures(doc, c.training)
    if c.training_note:
        doc.paragraph(c.training_note, style="I")
    doc.output(str(path))
    return path
