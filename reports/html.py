"""``index.html``: one self-contained page (every image a data URI, CSS inline, no scripts), so
the file opens offline, survives being mailed around and renders the same in any browser.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from reports.content import PER_ITEM, Content
from reports.figures import FigureFiles
from reports.tables import to_html

CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;max-width:1180px;
margin:24px auto;padding:0 16px}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.8em 0;font-size:.88em}caption{text-align:left;font-weight:600;
padding:.3em 0}th,td{padding:.25em .6em;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #999}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
ul.notes{font-size:.8em;color:#555;margin-top:0}figure{margin:0}figcaption{font-size:.85em;color:#444}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:18px}
.grid img{width:100%;height:auto}.visual img{max-width:none;image-rendering:pixelated}
.visual{overflow-x:auto;margin-bottom:1.2em}p.summary{background:#f6f8fa;padding:.8em 1em;border-radius:6px}
.muted{color:#666;font-size:.9em}.wide img{max-width:100%;height:auto}
"""


def data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _figure(f: FigureFiles, out: Path) -> str:
    e = html.escape
    links = " · ".join(f'<a href="{e(p.relative_to(out).as_posix())}">{p.suffix[1:].upper()}</a>' for p in f.vector)
    return (
        f'<figure><img src="{data_uri(f.png)}" alt="{e(f.title)}">'
        f"<figcaption>{e(f.title)} ({links})</figcaption></figure>"
    )


def render(c: Content, out: Path) -> str:
    e = html.escape
    parts = [
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{e(c.title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{CSS}</style></head>'
        f"<body><h1>{e(c.title)}</h1>",
        to_html(c.runs),
    ]
    if c.headline:  # the first results section: BD on the headline metric, CI and overlap
        parts += [f'<h2 id="headline">Headline: {e(c.comp.headline)}</h2>', to_html(c.headline)]
    parts.append('<h2 id="summary">Summary</h2>')
    parts += [f'<p class="summary">{e(p)}</p>' for p in c.paragraphs]
    parts.append(
        '<h2 id="rd">Rate–distortion</h2><p class="muted">Solid: sandwich; dashed: baselines; dotted: '
        "published references (by role). MS-SSIM in dB. Vector versions linked under each plot.</p>"
    )
    parts.append('<div class="grid">' + "".join(_figure(f, out) for f in c.rd) + "</div>")
    if c.per_item or c.per_item_notes:
        parts.append(f'<h3 id="per-item">Per item: {e(c.comp.headline)}</h3><p class="muted">{e(PER_ITEM)}</p>')
    parts += [f'<div class="wide">{_figure(f, out)}</div>' for f in c.per_item]
    parts += [to_html(t) for t in c.per_item_tables]
    parts += [f'<p class="muted">{e(n)}</p>' for n in c.per_item_notes]
    parts.append('<h2 id="bd">BD-rate and BD-PSNR</h2>')
    if c.headline:
        parts.append(f'<p class="muted">{e(c.comp.headline)}, the headline metric: above.</p>')
    parts += [to_html(t) for t in c.bd]
    parts.append('<h2 id="visual">Visual comparison</h2>')
    for p in c.visuals:
        parts.append(
            f'<figure class="visual"><img src="{data_uri(p.png)}" alt="{e(p.alt)}">'
            f"<figcaption>{e(p.title)}</figcaption></figure>"
        )
    parts += [f'<p class="muted">{e(n)}</p>' for n in c.visual_notes]
    parts += ['<h2 id="complexity">Complexity</h2>', to_html(c.complexity), '<h2 id="training">Training</h2>']
    if c.training:
        parts.append('<div class="grid">' + "".join(_figure(f, out) for f in c.training) + "</div>")
    else:
        parts.append(f'<p class="muted">{e(c.training_note or "")}</p>')
    parts.append("</body></html>\n")
    return "\n".join(parts)
