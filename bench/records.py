"""Typed records of what a run measures: rows, cells, and the entries of ``summary.json``.

Rows and cells are dataclasses that read and write the JSON a run folder holds (the same keys as
before they were typed, so finished cells of older runs load unchanged); ``summary.json`` is
described by TypedDicts, since reports read it back from disk or from MLflow as plain JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict

from bench.metrics import METRICS

Value = int | float | str


@dataclass
class Row:
    """One item through one method at one rate point: real bytes, rates, times and metric values."""

    item: str
    sha256: str
    nbytes: int
    bpp: float
    encode_s: float
    decode_s: float
    values: dict[str, float | None]  # metric key -> value (a clip's sequence value)
    kbps: float | None = None  # clips: the stream's bit rate at its real frame rate
    frames: int | None = None
    fps: float | None = None
    per_frame: dict[str, list[float]] | None = None
    bitdepth: int | None = None  # a shallower source held on a deeper scale: the depth it was measured at
    recon: str | None = None  # kept reconstruction (PNG, relative to the run folder)
    bottleneck: str | None = None
    extra: dict[str, Value] = field(default_factory=dict)  # what the method reports beside (qp, post_on ...)

    def get(self, key: str) -> Value | None:
        """A rate, metric or extra by its column name (None where this row has none)."""
        if key in self.values:
            return self.values[key]
        if key in _RATES:
            return getattr(self, key)
        return self.extra.get(key)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"item": self.item, "sha256": self.sha256, "nbytes": self.nbytes}
        if self.kbps is not None:
            out["kbps"] = self.kbps
        out["bpp"] = self.bpp
        if self.frames is not None:
            out.update(frames=self.frames, fps=self.fps)
        out.update(encode_s=self.encode_s, decode_s=self.decode_s, **self.values)
        for key in ("per_frame", "bitdepth", "recon", "bottleneck"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return {**out, **{k: v for k, v in self.extra.items() if k not in out}}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Row:
        fixed: dict[str, Any] = {k: doc.get(k) for k in _FIELDS}
        values = {k: v for k, v in doc.items() if k in METRICS}
        extra = {k: v for k, v in doc.items() if k not in _FIELDS and k not in values}
        return cls(**fixed, values=values, extra=extra)


_RATES = ("bpp", "kbps", "nbytes", "encode_s", "decode_s", "frames", "fps")
_FIELDS = (
    "item",
    "sha256",
    "nbytes",
    "bpp",
    "encode_s",
    "decode_s",
    "kbps",
    "frames",
    "fps",
    "per_frame",
    "bitdepth",
    "recon",
    "bottleneck",
)


@dataclass
class Cell:
    """One (method, rate point) over every eval item, and what it was computed from (``bench.reuse``)."""

    method: str
    role: str
    rate_point: float
    rows: list[Row]
    command: str
    git_sha: str
    unit: str | None = None  # "sequence" when the items are clips
    inputs: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    mlflow_run_id: str | None = None
    mlflow_parent: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": self.method,
            "role": self.role,
            "rate_point": self.rate_point,
            "rows": [r.to_json() for r in self.rows],
            "command": self.command,
            "git_sha": self.git_sha,
            "complete": True,
        }
        if self.unit is not None:
            out["unit"] = self.unit
        for key in ("inputs", "meta"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        for key in ("mlflow_run_id", "mlflow_parent"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Cell:
        return cls(
            doc["method"],
            doc["role"],
            doc["rate_point"],
            [Row.from_json(r) for r in doc["rows"]],
            doc.get("command", ""),
            doc.get("git_sha", ""),
            doc.get("unit"),
            doc.get("inputs") or {},
            doc.get("meta") or {},
            doc.get("mlflow_run_id"),
            doc.get("mlflow_parent"),
        )

    def only(self, items: set[str]) -> Cell:
        """This cell restricted to some items (a group of the eval set)."""
        return Cell(
            self.method,
            self.role,
            self.rate_point,
            [r for r in self.rows if r.item in items],
            self.command,
            self.git_sha,
            self.unit,
            self.inputs,
            self.meta,
        )


class CI95(TypedDict):
    bd_rate_pct: list[float] | None
    bd_psnr_db: list[float] | None
    n_boot: NotRequired[int]
    reason: NotRequired[str | None]


class BDEntry(TypedDict):
    """One method against one anchor on one metric (``bench.rd.bd`` plus a paired bootstrap CI)."""

    method: str
    role: str
    anchor: str
    metric: str
    bd_rate_pct: float | None
    bd_psnr_db: float | None
    ci95: CI95
    overlap: list[float] | None
    hull: NotRequired[bool]
    reason: NotRequired[str | None]  # why bd_rate_pct is None
    bd_rate_pct_akima: NotRequired[float | None]
    overlap_fraction: NotRequired[float | None]
    overlap_rate: NotRequired[list[float] | None]
    overlap_rate_fraction: NotRequired[float | None]
    n_anchor: NotRequired[int]
    n_test: NotRequired[int]
    bd_psnr_reason: NotRequired[str | None]


class MethodSummary(TypedDict):
    label: str
    role: str
    kind: str  # measured or published
    rd: dict[str, list[float]]
    members: NotRequired[dict[str, dict[str, list[float]]]]
    flags: NotRequired[list[str]]


class Summary(TypedDict):
    """``summary.json``: written last, so its presence marks a complete run."""

    experiment: str
    run_id: str
    scenario: str
    dataset: str
    rate: NotRequired[str]  # "kbps" for clips
    profile: str | None
    anchor: str
    metrics: list[str]  # in the config's order
    headline: NotRequired[str]  # the metric read first (evaluation.headline); absent before it existed
    mlflow_run_id: str
    git_sha: str
    config_hash: str
    methods: dict[str, MethodSummary]
    bd: list[BDEntry]
    reference_lines: NotRequired[dict[str, Any]]
    vs_start: NotRequired[dict[str, Any]]
    vs_codecs: NotRequired[dict[str, list[BDEntry]]]
    groups: NotRequired[dict[str, Any]]
    proxy_fidelity: NotRequired[dict[str, Any]]
    seeds: NotRequired[dict[str, Any]]  # a seeds grid: per family and metric, each seed's BD, mean and sd
    compare: NotRequired[dict[str, list[BDEntry]]]  # evaluation.compare: per method, BD against its named other


def headline_of(summary: Mapping[str, Any]) -> str:
    """The metric a run's results lead with: ``headline`` as recorded, else (a summary written before it was
    recorded) the first metric, which was then the default."""
    return summary.get("headline") or summary["metrics"][0]


def headline_first(metrics: list[str], headline: str) -> list[str]:
    """``metrics`` in the order a reader meets them: the headline, then the others in their own order."""
    return [headline, *(m for m in metrics if m != headline)] if headline in metrics else list(metrics)
