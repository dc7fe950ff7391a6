"""``report.md`` for GitHub: the same sections as the HTML, images linked relative to the file."""

from __future__ import annotations

from pathlib import Path

from reports.content import PER_ITEM, Content
from reports.figures import FigureFiles
from reports.tables import to_markdown


def _img(path: Path, out: Path, alt: str) -> str:
    return f"![{alt}]({path.relative_to(out).as_posix()})"


def _figure(f: FigureFiles, out: Path) -> list[str]:
    links = ", ".join(f"[{p.suffix[1:].upper()}]({p.relative_to(out).as_posix()})" for p in f.vector)
    return [_img(f.png, out, f.title), f"<sub>{f.title} ({links})</sub>", ""]


def render(c: Content, out: Path) -> str:
    """The headline metric's BD table is the first results section; the other metrics follow in their order."""
    parts = [f"# {c.title}", "", to_markdown(c.runs)]
    if c.headline:
        parts += [f"## Headline: {c.comp.headline}", "", to_markdown(c.headline)]
    parts += ["## Summary", ""]
    parts += [p + "\n" for p in c.paragraphs]
    parts += [
        "## Rate–distortion",
        "",
        "Solid: sandwich; dashed: baselines; dotted: published references (by role). MS-SSIM in dB.",
        "",
    ]
    for f in c.rd:
        parts += _figure(f, out)
    if c.per_item or c.per_item_notes:
        parts += [f"### Per item: {c.comp.headline}", "", PER_ITEM, ""]
    for f in c.per_item:
        parts += _figure(f, out)
    parts += [to_markdown(t) for t in c.per_item_tables]
    parts += [f"_{n}_\n" for n in c.per_item_notes]
    parts += ["## BD-rate and BD-PSNR", ""]
    if c.headline:
        parts += [f"_{c.comp.headline}, the headline metric: above._", ""]
    parts += [to_markdown(t) for t in c.bd]
    parts += ["## Visual comparison", ""]
    for p in c.visuals:
        parts += [f"**{p.title}**", "", _img(p.png, out, p.alt), ""]
    parts += [f"_{n}_\n" for n in c.visual_notes]
    parts += ["## Complexity", "", to_markdown(c.complexity), "## Training", ""]
    parts += [_img(f.png, out, f.title) + "\n" for f in c.training] or [f"_{c.training_note}_", ""]
    return "\n".join(parts).rstrip() + "\n"
