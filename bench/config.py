"""Experiment config: YAML -> validated pydantic models, before any work starts.

Unknown keys and bad values fail with the key path, what was expected and, for typos, the
closest valid key. Profiles (``profiles: {quick: {...}, full: {...}}``) are deep-merged over
the base document before validation, so a profile cannot smuggle in an invalid value.
"""
from __future__ import annotations

import copy
import difflib
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bench.errors import ConfigError

Role = Literal["sandwich", "baseline", "post_only", "pre_only", "learned", "reference"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetConfig(_Strict):
    """A named set (``kodak``, ``bsds500``, ``skimage`` ...) or a folder + glob."""

    set: str | None = None
    folder: Path | None = None
    glob: str = "*"
    max_items: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_source(self) -> DatasetConfig:
        if (self.set is None) == (self.folder is None):
            raise ValueError("give exactly one of 'set' (a named set) or 'folder' (+ 'glob')")
        return self


class DataConfig(_Strict):
    eval: DatasetConfig
    train: DatasetConfig | None = None


class _MethodBase(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
    label: str | None = None
    description: str = ""


class CodecMethodConfig(_MethodBase):
    """A plain real codec with the scenario's conventional adaptation (the paper's baselines)."""

    kind: Literal["codec"]
    role: Role = "baseline"
    codec: str
    options: dict[str, Any] = Field(default_factory=dict)
    adapt: Literal["none", "luma"] = "none"
    rate_points: list[float] = Field(min_length=1)

    @field_validator("rate_points")
    @classmethod
    def _distinct(cls, v: list[float]) -> list[float]:
        if len(set(v)) != len(v):
            raise ValueError("rate points must be distinct")
        return v


class ReferenceMethodConfig(_MethodBase):
    """A published RD curve (CompressAI-schema JSON): drawn dashed, never re-labelled as ours."""

    kind: Literal["reference"]
    role: Literal["reference"] = "reference"
    path: Path


MethodConfig = Annotated[CodecMethodConfig | ReferenceMethodConfig, Field(discriminator="kind")]


class EvalConfig(_Strict):
    metrics: list[str] = Field(default_factory=lambda: ["psnr-rgb", "ms-ssim-rgb"], min_length=1)
    anchor: str | None = None
    bootstrap: int = Field(default=1000, ge=0)
    visual_items: int = Field(default=1, ge=0, description="first N eval items whose reconstructions are saved")


class ExperimentConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    scenario: str
    seed: int = 0
    data: DataConfig
    methods: list[MethodConfig] = Field(min_length=1)
    evaluation: EvalConfig = Field(default_factory=EvalConfig)
    profile: str | None = None

    @model_validator(mode="after")
    def _names_and_anchor(self) -> ExperimentConfig:
        names = [m.name for m in self.methods]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"method names must be unique; repeated: {', '.join(dup)}")
        anchor = self.evaluation.anchor
        if anchor is not None and anchor not in names:
            raise ValueError(f"evaluation.anchor {anchor!r} is not a method; choose from: {', '.join(names)}")
        return self

    def anchor_name(self) -> str:
        """The BD anchor: as configured, else the first non-reference method."""
        if self.evaluation.anchor:
            return self.evaluation.anchor
        return next((m.name for m in self.methods if m.kind != "reference"), self.methods[0].name)

    def canonical(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def config_hash(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


_MODELS_BY_KEY: dict[str, type[BaseModel]] = {
    "data": DataConfig, "eval": DatasetConfig, "train": DatasetConfig,
    "evaluation": EvalConfig, "codec": CodecMethodConfig, "reference": ReferenceMethodConfig,
}


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model that owns the key at ``loc`` (for 'did you mean')."""
    model: type[BaseModel] = ExperimentConfig
    for part in loc[:-1]:
        if isinstance(part, str) and part in _MODELS_BY_KEY:
            model = _MODELS_BY_KEY[part]
    return list(model.model_fields)


def _format_errors(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = tuple(e["loc"])
        # discriminated unions put the tag ('codec') into the path: hide it from people
        shown = ".".join(str(p) for p in loc if p not in ("codec", "reference") or p == loc[-1])
        if e["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc)
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            parts.append(f"{shown}: unknown key{hint}; expected one of: {', '.join(allowed)}")
        elif e["type"] == "missing":
            parts.append(f"{shown}: required key is missing")
        else:
            got = e.get("input")
            got_s = f" (got {got!r})" if got is not None and not isinstance(got, dict | list) else ""
            parts.append(f"{shown or '<top level>'}: {e['msg']}{got_s}")
    return "; ".join(parts)


def parse_config(doc: Any, source: str = "<config>", profile: str | None = None) -> ExperimentConfig:
    """Validate a loaded YAML document (after applying ``profile``)."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys, got {type(doc).__name__}")
    doc = dict(doc)
    profiles = doc.pop("profiles", {}) or {}
    if not isinstance(profiles, dict):
        raise ConfigError(f"{source}: 'profiles' must map profile names to overrides")
    if profile is not None:
        if profile not in profiles:
            choices = ", ".join(sorted(profiles)) or "(this file defines none)"
            raise ConfigError(f"{source}: unknown profile {profile!r}; choose from: {choices}")
        doc = _deep_merge(doc, profiles[profile])
        doc["profile"] = profile
    try:
        return ExperimentConfig.model_validate(doc)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_format_errors(exc)}") from None


def load_config(path: Path, profile: str | None = None) -> ExperimentConfig:
    """Read and validate an experiment YAML; every problem is a one-line ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"experiment file not found: {path}")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return parse_config(doc, str(path), profile)
