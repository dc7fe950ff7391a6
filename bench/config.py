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
import math
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from bench.errors import ConfigError
from bench.image_header import DEFAULT_MAX_PIXELS

Role = Literal["sandwich", "baseline", "post_only", "pre_only", "learned", "reference"]
# The conventional adaptation around a codec (see baselines.conventional).
Adapt = Literal["none", "luma", "half_bicubic", "half_lanczos", "msb8", "msb10", "msb12"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Optional(_Strict):
    """A model whose later-added keys stay out of its dump while unset (None, or the value in
    ``_default_hidden``), so adding one leaves the config hash, and with it the run folder and its
    trained models, of every existing experiment unchanged."""

    _unset_hidden: ClassVar[tuple[str, ...]] = ()
    _default_hidden: ClassVar[dict[str, Any]] = {}

    def _at_default(self) -> tuple[str, ...]:
        """Keys whose default depends on other keys and that hold it now (hidden like ``_default_hidden``)."""
        return ()

    @model_serializer(mode="wrap")
    def _hide_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out = handler(self)
        for key in self._unset_hidden:
            if getattr(self, key) is None:
                out.pop(key, None)
        for key, value in self._default_hidden.items():
            if getattr(self, key) == value:
                out.pop(key, None)
        for key in self._at_default():
            out.pop(key, None)
        return out


VIDEO_KEYS = ("frames", "start", "fps", "crop")


class DatasetConfig(_Optional):
    """A named set (``kodak``, ``bsds500``, ``skimage``, ``highbit`` ...), a folder + glob, or video clips.

    ``crop`` [h, w] also applies to stills: each eval image is cut to its centred h x w (or kept
    whole where smaller), so large high-bit photographs fit a quick budget.

    ``video``: clips (``.y4m``, ``.yuv`` named ``name_WxH_FPSfps``, or a folder of PNG frames), each
    one item; ``frames`` from ``start``, ``fps`` for files that do not carry it (a clip's own rate
    wins), ``crop`` [h, w] centred (even offsets), each side kept whole where a clip is smaller.
    """

    _unset_hidden = ("video", *VIDEO_KEYS, "groups")
    _default_hidden = {"box_average": 1, "max_pixels": DEFAULT_MAX_PIXELS}

    set: str | None = None
    box_average: int = Field(
        default=1,
        ge=1,
        description="> 1: 8-bit images become deep (16-bit) sources, each "
        "the mean of box x box blocks (4: 12 significant bits), for training high-bit scenarios",
    )
    groups: dict[str, list[str]] | None = Field(
        default=None,
        description="item groups (name -> file stems) whose BD is also reported apart "
        "(the named set highbit brings its core and hard groups)",
    )
    folder: Path | None = None
    glob: str = "*"
    max_items: int | None = Field(default=None, ge=1)
    max_pixels: int = Field(
        default=DEFAULT_MAX_PIXELS,
        ge=1,
        description="largest image (or video frame) "
        "accepted, in pixels, checked from file headers before anything is decoded",
    )
    video: list[Path] | None = Field(default=None, min_length=1)
    frames: int | None = Field(default=None, ge=1)
    start: int | None = Field(default=None, ge=0, description="first frame (default 0)")
    fps: float | None = Field(default=None, gt=0)
    crop: tuple[int, int] | None = None

    @field_validator("video", mode="before")
    @classmethod
    def _one_clip_is_a_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str | Path) else v

    @model_validator(mode="after")
    def _one_source(self) -> DatasetConfig:
        if sum(x is not None for x in (self.set, self.folder, self.video)) != 1:
            raise ValueError("give exactly one of 'set' (a named set), 'folder' (+ 'glob') or 'video' (clips)")
        if self.video is None:
            given = [k for k in VIDEO_KEYS if getattr(self, k) is not None and k != "crop"]
            if given:
                raise ValueError(f"{', '.join(given)}: only for video clips (give 'video')")
        if self.crop is not None and (min(self.crop) < 16 or self.crop[0] % 2 or self.crop[1] % 2):
            raise ValueError(f"crop must be two even sizes >= 16 ([height, width]), got {list(self.crop)}")
        return self


class DataConfig(_Optional):
    """Eval and train sets; ``train_stills``: still images a video sandwich also trains on, as clips
    made by synthetic camera motion (for when there are too few training videos)."""

    _unset_hidden = ("train_stills",)

    eval: DatasetConfig
    train: DatasetConfig | None = None
    train_stills: DatasetConfig | None = None

    @model_validator(mode="after")
    def _video_train_needs_video_eval(self) -> DataConfig:
        if self.eval.video is None and (
            self.train_stills is not None or (self.train is not None and self.train.video is not None)
        ):
            raise ValueError("video training data (train.video, train_stills) needs a video eval set (eval.video)")
        if self.train_stills is not None and self.train_stills.video is not None:
            raise ValueError("train_stills takes still images ('set' or 'folder'), not 'video'")
        return self


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
    adapt: Adapt = "none"
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


class NetConfig(_Optional):
    """One processor (METHOD §2): sin-MLP branch + alpha * U-Net branch."""

    _default_hidden = {"init": "random"}
    _unset_hidden = ("residual_scale",)

    encoder: list[int] = Field(default_factory=lambda: [32])
    decoder: list[int] = Field(default_factory=lambda: [32, 32])
    hidden: int = Field(default=16, ge=1)
    mlp_layers: int = Field(default=1, ge=1)
    alpha0: float = 1.0
    unet: bool = True
    init: Literal["random", "conventional"] = Field(
        default="random",
        description="conventional: the MLP starts as the scenario's usual map (identity, "
        "BT.601 luma, gray replicated) and the U-Net's last layer at zero, so training starts at the baseline",
    )
    residual_scale: float | None = Field(
        default=None,
        gt=0,
        description="a residual net (a sandwich that wraps a codec method): one unit of its output "
        "in grey levels of the 8-bit bottleneck (default 255, full scale). Small corrections (a dequantiser's half "
        "grey level) need a small unit, or each Adam step moves the output by grey levels",
    )

    @model_validator(mode="after")
    def _conventional_needs_alpha(self) -> NetConfig:
        if self.init == "conventional" and self.unet and self.alpha0 == 0:
            raise ValueError(
                "init: conventional starts the U-Net's last layer at zero, so with alpha0: 0 the "
                "U-Net would never train; keep alpha0 > 0 (e.g. 1.0)"
            )
        return self


class ProxyConfig(_Optional):
    _default_hidden = {"rate_gradient": "rounded"}

    quantizer: Literal["ste", "noise", "soft"] = "ste"
    rate: Literal["jpeg", "hevc", "gaussian", "laplacian"] = "jpeg"
    learn_step: bool = True
    rate_gradient: Literal["rounded", "unrounded"] = Field(
        default="rounded",
        description="unrounded: the calibrated rate's gradient is that of Σ ln(1 + |X/Δ|), so it also "
        "reaches coefficients that round to 0 (rounded: only nonzero ones)",
    )


class TrainConfig(_Optional):
    _default_hidden = {"distortion": "rgb", "lr_schedule": "constant", "pre_lr_scale": 1.0}
    _unset_hidden = ("rate_points",)

    steps: int = Field(default=1500, ge=1)
    batch: int = Field(default=8, ge=1)
    crop: int = Field(default=128, ge=16)
    lr: float = Field(default=1e-3, gt=0)
    lr_schedule: Literal["constant", "cosine"] = Field(
        default="constant",
        description="cosine: lr·(1 + cos(π·step/steps))/2, so the last steps settle "
        "(Adam keeps moving every weight by ~lr per step at a constant lr)",
    )
    pre_lr_scale: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="f's learning rate as a fraction of lr "
        "(f's signal through the proxy is weak; see bench proxy gradients)",
    )
    step_init: float | None = Field(default=None, ge=1, description="initial Δ; default 1.5*sqrt(lambda)")
    range_penalty: bool = True
    lpips_weight: float = Field(default=0.0, ge=0, description="perceptual scenario: weight of LPIPS(alex)")
    mse_weight: float = Field(default=1.0, ge=0)
    distortion: Literal["rgb", "yuv611", "psnr-yuv"] = Field(
        default="rgb",
        description="the distortion term: MSE on the source channels; yuv611, the MSE (6·Y + Cb + "
        "Cr)/8 in BT.601 full-range YCbCr (RGB sources; psnr-yuv's plane weights); psnr-yuv, −PSNR-YUV in dB "
        "(the metric itself: a mean of per-plane logarithms, so gamma is in dB per bit per element)",
    )
    bf16: bool = False
    codec_in_loop: Literal["proxy", "real", "real_ste"] = Field(
        default="proxy",
        description="real: every crop is also coded by the real codec; g trains on its decoded "
        "bottleneck (exactly what evaluation feeds it) while f learns through the proxy; real_ste: the real decoded "
        "bottleneck passed straight through the proxy to f (one pass); the rate is the calibrated proxy's either way",
    )
    rate_points: list[float] | None = Field(
        default=None,
        min_length=1,
        description="wrapping sandwich: the wrapped codec's rate points to train at, one "
        "drawn per step (default: all of them); checks run at the middle one",
    )
    log_every: int = Field(default=25, ge=1)
    check_every: int = Field(default=250, ge=1, description="real-codec check of the model every N steps")
    checkpoint_every: int = Field(default=250, ge=1)


class RunModelRef(_Strict):
    """A model of another experiment's finished run: its folder is ``<out>/<name>/<config hash>``."""

    experiment: Path = Field(description="that experiment's YAML, e.g. experiments/grayscale.yaml")
    profile: str | None = None
    method: str = Field(description="the trained member, e.g. sandwich.g600")


class VideoSandwichConfig(_Strict):
    """A video experiment's sandwich: per-frame f and g trained on short clips through the video proxy,
    evaluated through a real low-delay-P codec at QP = round(4 + 6·log2(Δ·step_factor))."""

    frames: int = Field(default=6, ge=2, description="frames per training clip")
    still_fraction: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="share of training clips made from stills (default: 0.5 with both kinds, else all of one)",
    )
    max_shift: float = Field(default=3.0, ge=0, description="synthetic motion: px/frame of translation")
    max_zoom: float = Field(default=0.02, ge=0, lt=0.5, description="synthetic motion: zoom per frame")
    codec: Literal["x265", "x264"] = "x265"
    codec_options: dict[str, Any] = Field(default_factory=dict, description="preset, params, threads")
    init_from: RunModelRef | Path | None = Field(
        default=None,
        description="image-sandwich checkpoint (final.pt), or {experiment, profile, method} of a "
        "finished image run under the same --out, whose pre/post weights start the training",
    )


DEFAULT_STEP_FACTORS = [0.5, 0.7, 1.0, 1.4, 2.0]


class SandwichMethodConfig(_MethodBase, _Optional):
    """The sandwich: one model per lambda, each evaluated through the real codec over a step sweep."""

    _unset_hidden = ("video", "wraps", "weights")
    _default_hidden = {"post_flag": False}

    kind: Literal["sandwich"]
    role: Literal["sandwich", "post_only", "pre_only"] = "sandwich"
    lambdas: list[float] = Field(min_length=1, description="rate weights gamma (one model each)")
    step_factors: list[float] = Field(
        default_factory=lambda: list(DEFAULT_STEP_FACTORS),
        min_length=1,
        description="real-codec steps as multiples of each model's trained step",
    )
    pre: NetConfig = Field(default_factory=NetConfig)
    post: NetConfig = Field(default_factory=NetConfig)
    proxy: ProxyConfig = Field(default_factory=ProxyConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    video: VideoSandwichConfig | None = Field(default=None, description="video experiments only")

    wraps: str | None = Field(
        default=None,
        description="a codec method of this experiment whose configuration the sandwich wraps: its "
        "codec and options, its adaptation as the starting path (f, g residuals; init: conventional starts them at "
        "zero, so the untrained sandwich is that method) and its rate points (step_factors do not apply)",
    )
    weights: str | None = Field(
        default=None,
        description="a trained model to use instead of training: its folder (with card.json), its id "
        "(or a unique prefix) under <out>/models/sandwich, or zoo (zoo:<experiment or id>): the model of the zoo "
        "whose card fits; its card must match this method's scenario, wrapped codec and nets, and lambdas must be "
        "the one λ it was trained at",
    )
    post_flag: bool = Field(
        default=False,
        description="the encoder decides per 64x64 block whether g's output is used (where it "
        "lowers the squared error against the source) and sends one bit per block, counted in the rate, as HEVC's "
        "SAO and VVC's ALF switch their loop filters; needs wraps (off: the wrapped codec's own reconstruction)",
    )

    @field_validator("step_factors")
    @classmethod
    def _positive_step_factors(cls, v: list[float]) -> list[float]:
        bad = [f for f in v if not math.isfinite(f) or f <= 0]
        if bad:
            raise ValueError(f"step_factors multiply the trained step, so each must be a finite number > 0; got {bad}")
        return v

    @model_validator(mode="after")
    def _wraps_has_no_step_factors(self) -> SandwichMethodConfig:
        if self.wraps is not None and self.step_factors != DEFAULT_STEP_FACTORS:
            raise ValueError(
                "step_factors sweep a learnt step; a sandwich that wraps a codec method sweeps that "
                f"method's rate points, so drop step_factors (or wraps: {self.wraps})"
            )
        if self.post_flag and (self.wraps is None or self.role == "pre_only"):
            raise ValueError(
                "post_flag switches g off for the wrapped codec's own reconstruction; it needs wraps "
                "and a post-processor (role sandwich or post_only)"
            )
        if self.wraps is None and self.train.rate_points is not None:
            raise ValueError("train.rate_points picks rate points of the wrapped codec; set wraps or drop it")
        if self.weights is not None and len(self.lambdas) != 1:
            raise ValueError(
                f"weights names one trained model, trained at one λ; set lambdas to that one λ, got {self.lambdas}"
            )
        return self


COMPRESSAI_QUALITIES = {"bmshj2018-factorized": 8, "bmshj2018-hyperprior": 8, "mbt2018-mean": 8, "cheng2020-anchor": 6}


class CompressAITrainConfig(_Strict):
    """How ``weights: trained_here`` trains (CompressAI's recipe at a small budget)."""

    steps: int = Field(default=1000, ge=1)
    batch: int = Field(default=8, ge=1)
    crop: int = Field(default=128, ge=64, multiple_of=64)
    lr: float = Field(default=1e-4, gt=0)
    lr_entropy: float | None = Field(
        default=None,
        gt=0,
        description="lr of the entropy bottleneck's density (default: lr, as CompressAI); a short run needs it higher",
    )
    lambdas: dict[int, float] = Field(
        default_factory=dict, description="quality -> lambda; default: CompressAI's published values"
    )
    data: DatasetConfig | None = Field(
        default=None,
        description="train on this set instead of data.train (e.g. 8-bit photos when the experiment trains on HDR)",
    )


class CompressAIMethodConfig(_MethodBase):
    """A CompressAI learned codec with real entropy coding: published weights or trained here."""

    kind: Literal["compressai"]
    role: Literal["learned"] = "learned"
    arch: Literal["bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean", "cheng2020-anchor"]
    qualities: list[int] = Field(min_length=1)
    metric: Literal["mse", "ms-ssim"] = "mse"
    weights: Literal["pretrained", "trained_here"] = "pretrained"
    checkpoint_dir: Path | None = Field(
        default=None, description="folder with the zoo's weight files (default: the torch hub cache)"
    )
    channels: list[int] | None = Field(
        default=None, description="trained_here only: N (and M) instead of CompressAI's per-quality values"
    )
    train: CompressAITrainConfig | None = None
    adapt: Literal["none", "msb8"] = Field(
        default="none",
        description="msb8: deeper sources go through as their 8 most significant bits, mid-point reconstruction",
    )

    @model_validator(mode="after")
    def _consistent(self) -> CompressAIMethodConfig:
        top = COMPRESSAI_QUALITIES[self.arch]
        bad = [q for q in self.qualities if not 1 <= q <= top]
        if bad or len(set(self.qualities)) != len(self.qualities):
            raise ValueError(f"qualities must be distinct integers 1..{top} for {self.arch}, got {self.qualities}")
        if self.weights == "pretrained" and (self.train is not None or self.channels is not None):
            raise ValueError("'train' and 'channels' apply to weights: trained_here only")
        if self.weights == "trained_here" and self.checkpoint_dir is not None:
            raise ValueError("'checkpoint_dir' applies to weights: pretrained only")
        n_channels = 1 if self.arch.startswith("cheng2020") else 2
        if self.channels is not None and (len(self.channels) != n_channels or min(self.channels) < 1):
            raise ValueError(f"channels for {self.arch} are {n_channels} positive integers, got {self.channels}")
        train = self.train or CompressAITrainConfig()
        extra = sorted(set(train.lambdas) - set(self.qualities))
        if extra:
            raise ValueError(f"train.lambdas has qualities that are not evaluated: {extra}")
        if self.weights == "trained_here" and self.metric == "ms-ssim" and train.crop < 192:
            raise ValueError("metric ms-ssim needs train.crop >= 192 (MS-SSIM's 5 scales need > 160 pixels)")
        return self


MethodConfig = Annotated[
    CodecMethodConfig | ReferenceMethodConfig | SandwichMethodConfig | CompressAIMethodConfig,
    Field(discriminator="kind"),
]


class EvalConfig(_Optional):
    """What is measured and how results are compared.

    ``headline`` (added after runs existed) is out of the dump, and so out of the config hash, while unset
    or equal to its default, the first metric: existing experiments keep their run folders.
    """

    _unset_hidden = ("headline", "compare")

    metrics: list[str] = Field(default_factory=lambda: ["psnr-rgb", "ms-ssim-rgb"], min_length=1)
    headline: str | None = Field(
        default=None,
        description="the metric every summary and report leads with (its BD against the anchor first); "
        "one of metrics, default the first",
    )
    anchor: str | None = None
    bootstrap: int = Field(default=1000, ge=0)
    visual_items: int = Field(default=1, ge=0, description="first N eval items whose reconstructions are saved")
    compare: dict[str, str] | None = Field(
        default=None,
        description="method -> another method it is also compared with (BD with paired CIs, summary.json "
        "'compare'), e.g. a long-trained sandwich against the same sandwich trained briefly",
    )

    @model_validator(mode="after")
    def _headline_is_measured(self) -> EvalConfig:
        if self.headline is not None and self.headline not in self.metrics:
            raise ValueError(
                f"evaluation.headline {self.headline!r} is not one of evaluation.metrics; "
                f"choose from: {', '.join(self.metrics)}"
            )
        return self

    def headline_metric(self) -> str:
        """The declared headline, else the first metric (what summaries and reports lead with)."""
        return self.headline or self.metrics[0]

    def _at_default(self) -> tuple[str, ...]:
        return ("headline",) if self.headline == self.metrics[0] else ()


class ExperimentConfig(_Optional):
    """``seeds``: every sandwich member is trained once per seed (member ``<name>.g<λ>.s<seed>``), so the summary
    can say how much of a BD figure is the seed; ``seed`` stays the seed of everything else (bootstrap, other
    learned methods). Unset, it stays out of the config hash."""

    _unset_hidden = ("seeds",)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    scenario: str
    seed: int = 0
    seeds: list[int] | None = Field(default=None, min_length=1)
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
        if self.seeds is not None and len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds: list each seed once, got {self.seeds}")
        anchor = self.evaluation.anchor
        if anchor is not None and anchor not in names:
            raise ValueError(f"evaluation.anchor {anchor!r} is not a method; choose from: {', '.join(names)}")
        for a, b in (self.evaluation.compare or {}).items():
            bad = next((n for n in (a, b) if n not in names), None)
            if bad is not None:
                raise ValueError(f"evaluation.compare: {bad!r} is not a method; choose from: {', '.join(names)}")
            if a == b:
                raise ValueError(f"evaluation.compare: {a!r} is compared with itself; name two methods")
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
    """``over`` merged into ``base``: mappings key by key, anything else (lists too) replaced whole; except that
    a mapping over ``methods`` patches the methods by name (see :func:`_patch_methods`)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if k == "methods" and isinstance(v, dict) and isinstance(out.get(k), list):
            out[k] = _patch_methods(out[k], v)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _patch_methods(methods: list[Any], patches: dict[str, Any]) -> list[Any]:
    """A profile's ``methods: {<name>: {...} | null}``: each named method deep-merged with its patch, or
    dropped (null), the others kept in order. Why: a profile that changes one key of one method need not
    repeat the whole list (a list in a profile replaces the file's list whole, as before)."""
    names = [m.get("name") if isinstance(m, dict) else None for m in methods]
    unknown = [n for n in patches if n not in names]
    if unknown:
        raise ConfigError(
            f"methods.{unknown[0]}: the profile patches a method the file does not define; "
            f"choose from: {', '.join(str(n) for n in names)}"
        )
    out = []
    for name, m in zip(names, methods, strict=True):
        if name not in patches:
            out.append(copy.deepcopy(m))
        elif patches[name] is not None:
            if not isinstance(patches[name], dict):
                raise ConfigError(f"methods.{name}: a profile's patch of a method is a mapping of keys or null")
            out.append(_deep_merge(m, patches[name]))
    return out


_TAG_MODELS: dict[str, type[BaseModel]] = {
    "codec": CodecMethodConfig,
    "reference": ReferenceMethodConfig,
    "sandwich": SandwichMethodConfig,
    "compressai": CompressAIMethodConfig,
}
_TAGS = tuple(_TAG_MODELS)


def method_kind_docs() -> dict[str, str | None]:
    """Each ``kind`` with the docstring of its config model (``bench list``)."""
    return {k: m.__doc__ for k, m in _TAG_MODELS.items()}


def _model_in(tp: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``X | None`` or ``list[X]``."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    for arg in get_args(tp):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model that owns the key at ``loc`` (for 'did you mean')."""
    model: type[BaseModel] = ExperimentConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if part in _TAG_MODELS:  # discriminated unions put the tag into the path
            model = _TAG_MODELS[part]
            continue
        field = model.model_fields.get(str(part))
        sub = _model_in(field.annotation) if field else None
        if sub is None:
            break
        model = sub
    return list(model.model_fields)


def _format_errors(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = tuple(e["loc"])
        # discriminated unions put the tag ('codec') into the path: hide it from people
        shown = ".".join(str(p) for p in loc if p not in _TAGS or p == loc[-1])
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
        try:
            doc = _deep_merge(doc, profiles[profile])
        except ConfigError as exc:
            raise ConfigError(f"{source}: profile {profile}: {exc}") from None
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
