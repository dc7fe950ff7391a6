"""Everything a report shows, built once and handed to each output format."""

from __future__ import annotations

from dataclasses import dataclass, field

from reports.compare import Comparison
from reports.figures import FigureFiles
from reports.tables import Table
from reports.visual import Panel

PER_ITEM = (
    "The headline metric on each eval item alone (for video, each clip): every method's curve at the rate points of "
    "its mean curve, and its BD against the anchor on that item. A mean over items can hide a method that wins on "
    "some items and loses on others."
)


@dataclass
class Content:
    title: str
    comp: Comparison
    paragraphs: list[str]
    runs: Table
    rd: list[FigureFiles]
    bd: list[Table]  # the other metrics' BD tables (and vs_start); the headline's is ``headline``
    complexity: Table
    headline: Table | None = None  # BD on the headline metric: the first results table of every format
    per_item: list[FigureFiles] = field(default_factory=list)  # per run: the headline metric item by item
    per_item_tables: list[Table] = field(default_factory=list)
    per_item_notes: list[str] = field(default_factory=list)  # why a run has no per-item figure
    visuals: list[Panel] = field(default_factory=list)
    visual_notes: list[str] = field(default_factory=list)
    training: list[FigureFiles] = field(default_factory=list)
    training_note: str | None = None  # why there are no training curves

    def tables(self) -> list[Table]:
        """Every table in reading order: runs, the headline's BD, per item, the other BD tables, complexity."""
        headline = [self.headline] if self.headline else []
        return [self.runs, *headline, *self.per_item_tables, *self.bd, self.complexity]
