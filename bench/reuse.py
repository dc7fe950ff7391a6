"""What made a finished cell or trained model, and why it may not be reused.

A result on disk is reused only when what would produce it now is what produced it then. For a
cell (one method at one rate point over every eval item) that is

- ``items``: each eval item's file sha256, and ``sources``: a digest of the decoded source array
  the methods see (so a changed loader, crop or bit-depth conversion counts, not only a new file);
- the metric set;
- the method's own description (``Method.describe``: codec name, version and options, adaptation,
  a learned method's weight files), kept in the cell as ``meta``;
- ``code``: the sha256 of the source files that compute the method's output and the metrics
  (``Method.code_modules`` plus :data:`EVAL_CODE`).

Why source files and not the git sha: any commit (a README line, a report template) would
invalidate every cell of every run, so people would learn to ignore or delete the check. The
modules listed are those a cell's numbers come from, so an edit there recomputes the cells it may
change and nothing else. Trained models are keyed by their training inputs only (item contents and
the method's configuration, see ``sandwich.train``): retraining costs hours, and this project changes
training behaviour through new config keys, which the configuration already covers.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from bench.io_utils import json_safe
from bench.paths import REPO_ROOT
from bench.records import Cell

EVAL_CODE = ("bench.metrics", "bench.highbit", "bench.evaluate")  # every cell's rates and metric values


def source_digests(modules: Iterable[str]) -> dict[str, str]:
    """``{repo-relative file: sha256[:16]}`` of each module's source; a package gives every
    ``.py`` file under it."""
    out = {}
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ValueError(f"no source for module {name!r}")
        origin = Path(spec.origin)
        files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
        for f in files:
            out[f.resolve().relative_to(REPO_ROOT).as_posix()] = hashlib.sha256(f.read_bytes()).hexdigest()[:16]
    return dict(sorted(out.items()))


def array_digest(a: np.ndarray) -> str:
    """sha256[:16] of an array's dtype, shape and values."""
    h = hashlib.sha256(f"{a.dtype}{a.shape}".encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def item_digests(items: Iterable[Any]) -> dict[str, str]:
    """``{item name: file sha256}`` (items of ``bench.data`` datasets, images or clips)."""
    return {it.name: it.sha256 for it in items}


def plain(obj: Any) -> Any:
    """``obj`` as it reads back from the JSON a cell is stored in (tuples are lists, keys strings)."""
    return json.loads(json.dumps(json_safe(obj)))


def _short(v: Any) -> str:
    text = json.dumps(v) if not isinstance(v, str) else repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _flat(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, Mapping) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _names(names: list[str], what: str) -> str:
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"{shown} {what}"


def items_changed(old: Mapping[str, str], new: Mapping[str, str], what: str = "(sha256)") -> list[str]:
    """Why two ``{name: digest}`` maps differ: changed, added and removed items, by name."""
    out = []
    changed = [n for n in new if n in old and old[n] != new[n]]
    if changed:
        out.append(_names(changed, f"changed {what}"))
    added = [n for n in new if n not in old]
    if added:
        out.append(_names(added, "added"))
    removed = [n for n in old if n not in new]
    if removed:
        out.append(_names(removed, "removed"))
    return out


def dict_changed(old: Mapping[str, Any], new: Mapping[str, Any], what: str) -> list[str]:
    """``what`` changed, naming up to three differing (nested) keys with their old and new values."""
    a, b = _flat(old), _flat(new)
    keys = [k for k in dict.fromkeys([*b, *a]) if a.get(k, "<unset>") != b.get(k, "<unset>")]
    if not keys:
        return []
    shown = ", ".join(f"{k} {_short(a.get(k, '<unset>'))} -> {_short(b.get(k, '<unset>'))}" for k in keys[:3])
    more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
    return [f"{what} changed ({shown}{more})"]


def cell_inputs(
    items: Mapping[str, str], sources: Mapping[str, str], metrics: list[str], code: Mapping[str, str]
) -> dict[str, Any]:
    """What a cell is computed from, besides the method's own description (stored as ``meta``)."""
    return {"items": dict(items), "sources": dict(sources), "metrics": sorted(metrics), "code": dict(code)}


def cell_changes(cell: Cell, inputs: Mapping[str, Any], meta: Mapping[str, Any]) -> str | None:
    """Why a finished cell may not be reused (None: it may)."""
    old = cell.inputs
    if not old or not cell.meta:
        return "no record of what it was computed from (written by an older bench)"
    why = items_changed(old.get("items", {}), inputs["items"])
    if not why:
        why = items_changed(old.get("sources", {}), inputs["sources"], "when decoded (loader, crop or scenario)")
    if old.get("metrics") != inputs["metrics"]:
        gone, new = (
            set(old.get("metrics", [])) - set(inputs["metrics"]),
            set(inputs["metrics"]) - set(old.get("metrics", [])),
        )
        why.append(
            "metric set changed ("
            + ", ".join([*(f"+{k}" for k in sorted(new)), *(f"-{k}" for k in sorted(gone))])
            + ")"
        )
    old_meta, new_meta = cell.meta, plain(meta)
    if old_meta.get("weights_sha256") != new_meta.get("weights_sha256"):  # the rest of meta follows from it
        why.append("its trained weights changed")
    else:
        why += dict_changed(old_meta, new_meta, "method")
    code = [
        f
        for f in dict.fromkeys([*inputs["code"], *old.get("code", {})])
        if old.get("code", {}).get(f) != inputs["code"].get(f)
    ]
    if code:
        why.append(_names(code, "changed (code)"))
    return "; ".join(why) or None
