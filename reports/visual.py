"""Visual comparisons: crops of the original and of every method at matched rates, side by side, plus a
method's bottleneck ("neural code") image when it saved one. Crops are only comparable at equal rates, so the
rate points are chosen to match each other first (within :data:`RATE_TOLERANCE`) and to be near a target
bpp second; when no set matches, the caption says by how much the rates differ.

Reconstructions are the lossless PNGs the runner keeps for the first ``evaluation.visual_items``
items (``recon`` in a cell row; a learned method may add ``bottleneck`` the same way). The crop
is the window where the anchor's error is largest, so differences show where they matter. The
composite is assembled pixel for pixel (``figimage``): no resampling blurs the artefacts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.errors import BenchError
from bench.records import Cell, Row, headline_of
from reports.compare import Comparison, Entry
from reports.load import RunData

GAP, CAPTION = 8, 34  # pixels between tiles, caption band above them
RATE_TOLERANCE = 0.15
"""Largest relative bpp difference from the lead (anchor) crop at which crops count as being at the same rate:
about one quality step of a JPEG sweep, well inside the differences a crop makes visible."""
RED = np.array([230, 25, 25], dtype=np.uint8)


@dataclass(frozen=True)
class Tile:
    caption: str
    image: np.ndarray  # uint8 H x W x 3


@dataclass(frozen=True)
class Panel:
    title: str
    png: Path
    alt: str


def to_display(img: np.ndarray, bitdepth: int | None = None) -> np.ndarray:
    """uint8 RGB for showing: deeper integers scaled by their bit depth's peak, gray replicated."""
    if img.ndim == 2:
        img = img[:, :, None]
    if img.dtype != np.uint8:
        peak = float(2**bitdepth - 1) if bitdepth else float(np.iinfo(img.dtype).max)
        img = np.clip(np.rint(img.astype(np.float64) * 255.0 / peak), 0, 255).astype(np.uint8)
    return np.repeat(img[:, :, :1], 3, axis=2) if img.shape[2] == 1 else np.ascontiguousarray(img[:, :, :3])


def original(run: RunData, item: str, sha256: str | None) -> tuple[np.ndarray, int]:
    """The eval item exactly as methods received it (the modality's source: a still after the scenario's
    transform and ``data.eval.crop``, a clip's first frame, which is the frame a run keeps), and its bit depth."""
    from bench.config import parse_config
    from bench.data import resolve_dataset
    from bench.modality import modality_of
    from bench.scenarios import SCENARIOS
    from bench.video.dataset import resolve_video_dataset

    if run.config is None:
        raise BenchError("the run folder has no config.yaml")
    cfg = parse_config(run.config, f"{run.root}/config.yaml")
    resolve = resolve_video_dataset if cfg.data.eval.video is not None else resolve_dataset
    items = {it.name: it for it in resolve(cfg.data.eval, "data.eval").items}
    if item not in items:
        raise BenchError(f"item {item!r} is no longer in the eval set")
    if sha256 and items[item].sha256 != sha256:
        raise BenchError(f"{items[item].path} changed since the run (sha256 differs)")
    if cfg.scenario not in SCENARIOS:
        raise BenchError(f"scenario {cfg.scenario!r} is not known to this version")
    source = modality_of(cfg).source(items[item], SCENARIOS.get(cfg.scenario), cfg)
    return source.frames[0], source.bitdepth


def saved_rows(cells: list[Cell], item: str) -> list[Row]:
    """The item's rows with a saved reconstruction."""
    return [r for c in cells for r in c.rows if r.item == item and r.recon and r.bpp > 0]


def closest_row(rows: list[Row], bpp: float) -> Row:
    """The row whose bpp is closest to ``bpp`` (in log bpp)."""
    return min(rows, key=lambda r: abs(math.log(r.bpp / bpp)))


def matched_rows(per_method: list[list[Row]], target: float) -> list[Row]:
    """One row per method (non-empty lists, the lead's first): the lead's rate point whose nearest points of the
    other methods lie within :data:`RATE_TOLERANCE` of it and which is nearest ``target``; when none of the lead's
    points has such neighbours, the one whose farthest neighbour is least far."""
    tol = math.log1p(RATE_TOLERANCE)

    def pick(lead: Row) -> tuple[float, float, list[Row]]:
        rows = [lead] + [closest_row(rows, lead.bpp) for rows in per_method[1:]]
        spread = max(abs(math.log(r.bpp / lead.bpp)) for r in rows)
        return (spread if spread > tol else 0.0), abs(math.log(lead.bpp / target)), rows

    return min((pick(lead) for lead in per_method[0]), key=lambda p: p[:2])[2]


def mismatch(rows: list[Row], labels: list[str]) -> str | None:
    """What the caption says when a crop's rate is farther than :data:`RATE_TOLERANCE` from the lead's."""
    lead = rows[0].bpp
    far = [
        f"{label} at {r.bpp:.3f} bpp ({100 * (r.bpp / lead - 1):+.0f}%)"
        for label, r in zip(labels[1:], rows[1:], strict=True)
        if abs(math.log(r.bpp / lead)) > math.log1p(RATE_TOLERANCE)
    ]
    if not far:
        return None
    return (
        f"rates not matched: no rate points within {RATE_TOLERANCE:.0%} of each other; against {labels[0]} at "
        f"{lead:.3f} bpp, {', '.join(far)}"
    )


def crop_box(ref: np.ndarray, dist: np.ndarray, size: int, stride: int = 8) -> tuple[int, int, int]:
    """(y, x, side) of the size x size window with the largest squared error."""
    h, w = ref.shape[:2]
    side = min(size, h, w)
    err = ((ref.astype(np.float64) - dist.astype(np.float64)) ** 2).sum(axis=2)
    s = np.pad(err.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    ys, xs = np.arange(0, h - side + 1, stride), np.arange(0, w - side + 1, stride)
    win = (
        s[ys[:, None] + side, xs[None, :] + side]
        - s[ys[:, None], xs[None, :] + side]
        - s[ys[:, None] + side, xs[None, :]]
        + s[ys[:, None], xs[None, :]]
    )
    i, j = np.unravel_index(int(np.argmax(win)), win.shape)
    return int(ys[i]), int(xs[j]), side


def thumbnail(img: np.ndarray, height: int, box: tuple[int, int, int] | None = None) -> np.ndarray:
    """The whole image scaled to ``height``, the crop ``box`` outlined in red."""
    from PIL import Image

    h, w = img.shape[:2]
    scale = height / h
    thumb = np.array(Image.fromarray(img).resize((max(1, round(w * scale)), height), Image.Resampling.LANCZOS))
    if box is None:
        return thumb
    y, x, side = (round(v * scale) for v in box)
    y2, x2 = min(y + max(side, 3), height) - 1, min(x + max(side, 3), thumb.shape[1]) - 1
    for t in range(2):
        thumb[y + t, x : x2 + 1] = thumb[y2 - t, x : x2 + 1] = RED
        thumb[y : y2 + 1, x + t] = thumb[y : y2 + 1, x2 - t] = RED
    return thumb


def composite(tiles: list[Tile], path: Path) -> Path:
    """Tiles side by side at 1:1 pixels, captions above, written as PNG."""
    import matplotlib.pyplot as plt

    height = max(t.image.shape[0] for t in tiles)
    width = sum(t.image.shape[1] for t in tiles) + GAP * (len(tiles) + 1)
    total_h = height + CAPTION + GAP
    fig = plt.figure(figsize=(width / 100, total_h / 100), dpi=100)
    x = GAP
    for t in tiles:
        fig.figimage(t.image, xo=x, yo=GAP + height - t.image.shape[0], origin="upper")
        fig.text(x / width, (GAP + height + 3) / total_h, t.caption, fontsize=7.5, va="bottom", ha="left")
        x += t.image.shape[1] + GAP
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _caption(label: str, row: Row, metric: str, width: int) -> str:
    chars = max(12, width // 6)
    name = label if len(label) <= chars else label[: chars - 1] + "…"
    value = row.get(metric)
    shown = f"{value:.2f}" if isinstance(value, float) else "n/a"
    return f"{name}\n{row.bpp:.3f} bpp, {metric} {shown}"


def run_panels(
    comp: Comparison, run: RunData, folder: Path, items: list[str] | None, target: float, size: int, limit: int
) -> tuple[list[Panel], list[str]]:
    """Panels for one run's items, and notes saying what could not be shown and why."""
    prefix = f"{run.tag}: " if run.tag else ""
    if not run.local:
        return [], [
            f"{prefix}reconstructions stay in the run folder, which is not on this machine "
            f"(the report was built from MLflow artifacts)"
        ]
    anchor = comp.entry_of(run, run.summary["anchor"])
    measured = [e for e in comp.entries.values() if e.run is run and e.kind == "measured"]
    if not measured:
        return [], [f"{prefix}no measured method, nothing was reconstructed"]
    measured.sort(key=lambda e: e is not anchor)  # the anchor (when measured) leads and picks the crop
    cells = {e.key: run.cells(e.method) for e in measured}
    saved = list(dict.fromkeys(r.item for c in cells[measured[0].key] for r in c.rows if r.recon))
    if not saved:
        return [], [f"{prefix}no reconstructions were saved (evaluation.visual_items: 0)"]
    wanted = items or saved[:limit]
    notes = [f"{prefix}no saved reconstruction of {i!r} (saved: {', '.join(saved)})" for i in wanted if i not in saved]
    panels = []
    for item in (i for i in wanted if i in saved):
        try:
            panels.append(_panel(run, item, measured, cells, folder, target, size, prefix))
        except BenchError as exc:
            notes.append(f"{prefix}{item}: not shown: {exc}")
    return panels, notes


def _panel(
    run: RunData,
    item: str,
    measured: list[Entry],
    cells: dict[str, list[Cell]],
    folder: Path,
    target: float,
    size: int,
    prefix: str,
) -> Panel:
    from bench.data import load_image

    metric = headline_of(run.summary)
    have = [(e, rows) for e in measured if (rows := saved_rows(cells[e.key], item))]
    chosen = list(zip([e for e, _ in have], matched_rows([rows for _, rows in have], target), strict=True))
    src, bitdepth = original(run, item, chosen[0][1].sha256)
    ref = to_display(src, bitdepth)
    recons = [to_display(load_image(run.root / str(r.recon)), bitdepth) for _, r in chosen]
    box = crop_box(src, load_image(run.root / str(chosen[0][1].recon)), size)
    y, x, side = box
    tiles = [
        Tile(f"{item} (crop at {x},{y})", thumbnail(ref, side, box)),
        Tile("original", ref[y : y + side, x : x + side]),
    ]
    labels = [e.label + (" (anchor)" if e.method == run.summary["anchor"] else "") for e, _ in chosen]
    for (e, r), label, img in zip(chosen, labels, recons, strict=True):
        tiles.append(Tile(_caption(label, r, metric, side), img[y : y + side, x : x + side]))
        if r.bottleneck:
            code = to_display(load_image(run.root / r.bottleneck))
            tiles.append(Tile(f"{e.label}\nneural code (full image)", thumbnail(code, side)))
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in f"{run.tag or 'run'}_{item}")
    png = composite(tiles, folder / f"visual_{stem}.png")
    alt = "; ".join(f"{e.label} at {r.bpp:.3f} bpp" for e, r in chosen)
    rows = [r for _, r in chosen]
    rates = mismatch(rows, labels) or (
        f"rates matched within {RATE_TOLERANCE:.0%} ({labels[0]} at {rows[0].bpp:.3f} bpp, the matched point "
        f"nearest the target {target:g} bpp)"
    )
    return Panel(f"{prefix}{item}: crops at 1:1 pixels; {rates}", png, f"Crops of {item}: original; {alt}")
