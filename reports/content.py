"""Everything a report shows, built once and handed to each output format."""

from __future__ import annotations

from dataclasses import dataclass, field

from reports.compare import Comparison
from reports.figures import FigureFiles
from reports.tables import Table
from reports.visual import Panel


@dataclass
class Content:
    title: str
    comp: Comparison
    paragraphs: list[str]
    runs: Table
    rd: list[FigureFiles]
    bd: list[Table]
    complexity: Table
    visuals: list[Panel] = field(default_factory=list)
    visual_notes: list[str] = field(default_factory=list)
    training: list[FigureFiles] = field(default_factory=list)
    training_note: str | None = None  # why there are no training curves
