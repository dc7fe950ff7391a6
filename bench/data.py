"""Datasets: named sets or folders, image loading at any bit depth, sha256 manifests, crops.

Every image is loaded as ``H x W x C``: uint8 for 8-bit files, uint16 for 16-bit PNG/TIFF,
float32 (linear) for OpenEXR/Radiance HDR. A file that cannot be decoded is a DataError naming
it; nothing is silently skipped.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from bench.config import DatasetConfig
from bench.errors import DataError
from bench.image_header import check_pixels
from bench.paths import data_root

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".exr", ".hdr", ".avif", ".y4m"}

# Photographs shipped inside the scikit-image wheel: the embedded default needs no download.
SKIMAGE_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg")


def _bundled_photos() -> tuple[Path, list[str]]:
    """Colour photographs that ship inside installed packages and are none of the ``skimage`` eval set:
    what the embedded default's sandwich trains on (matplotlib and scikit-learn are dependencies)."""
    mpl = _package_dir("matplotlib") / "mpl-data" / "sample_data"
    skl = _package_dir("sklearn") / "datasets" / "images"
    files = [mpl / "grace_hopper.jpg", skl / "china.jpg", skl / "flower.jpg"]
    return Path("/"), [str(f) for f in files]


def _package_dir(name: str) -> Path:
    """An installed package's folder, found without importing it (``bench list`` stays fast)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"the package {name} is not installed; run bash scripts/setup.sh")
    return Path(next(iter(spec.submodule_search_locations)))


EMBEDDED_SETS = ("skimage", "bundled-photos")  # in installed packages: no shared data needed


def _skimage_root() -> Path:
    import skimage.data

    return Path(skimage.data.__file__).parent


def _named_sets() -> dict[str, tuple[Path, Sequence[str] | str]]:
    """Name -> (root folder, explicit file names or a glob)."""
    root = data_root()
    return {
        "kodak": (root / "kodak", "kodim*.png"),
        "bsds500": (root / "train" / "bsds500", "*.jpg"),
        "hdr": (root / "hdr", "*"),
        "iqa-calibration": (root / "reference" / "iqa_calibration" / "ref", "*.bmp"),
        "skimage": (_skimage_root(), SKIMAGE_PHOTOS),
        "bundled-photos": _bundled_photos(),
        "highbit": (root, [f"highbit/{n}" for n in HIGHBIT_FILES] + ["hdr/hdr_room.png"]),
    }


NAMED_SETS_ABOUT = {  # one line each, for `bench list`
    "kodak": "24 Kodak photographs, 768 x 512 (shared data: kodak/)",
    "bsds500": "BSDS500 photographs, the usual training set (shared data: train/bsds500/)",
    "hdr": "high-dynamic-range and deep images (shared data: hdr/)",
    "iqa-calibration": "reference images of the metric calibration set (shared data: reference/iqa_calibration/)",
    "skimage": "five photographs shipped inside scikit-image (no download)",
    "bundled-photos": "three photographs shipped in matplotlib and scikit-learn (no download; the embedded "
    "default trains on them)",
    "highbit": "10-16-bit stills in a core and a hard group (shared data: highbit/, hdr/hdr_room.png)",
}


# shared/data/highbit/SOURCES.md: 10/12/16-bit stills; "core" low bits are smooth and predictable,
# "hard" ones noise-like (a good method gains on core and does not hallucinate on hard).
HIGHBIT_FILES = (
    "weld_16bit.png",
    "sunset-hlg_f0_1920x1080_yuv420p10.y4m",
    "trace_171_1024_12bit.png",
    "seine_hdr_srgb.avif",
    "lights-hlg_f0_crop1920x1080_x960y540_yuv420p10.y4m",
    "spring_float16.tif",
)
NAMED_GROUPS = {
    "highbit": {
        "core": ("weld_16bit", "sunset-hlg_f0_1920x1080_yuv420p10", "trace_171_1024_12bit", "seine_hdr_srgb"),
        "hard": ("lights-hlg_f0_crop1920x1080_x960y540_yuv420p10", "spring_float16", "hdr_room"),
    }
}


def named_set_names() -> list[str]:
    return sorted(_named_sets())


def expand_path(text: str | Path) -> Path:
    """Expand ``${data}`` (the shared data root) and ``~`` in a config path."""
    return Path(string.Template(str(text)).safe_substitute(data=str(data_root()))).expanduser()


@dataclass(frozen=True)
class Item:
    """One image of a dataset, identified by content (sha256), not by path."""

    name: str
    path: Path
    sha256: str
    box: int = field(default=1, kw_only=True)  # > 1: an 8-bit photo box-averaged into a deep source (box_deepen)

    def load(self) -> np.ndarray:
        return self.load_with_depth()[0]

    def load_with_depth(self) -> tuple[np.ndarray, int | None]:
        """(image, true bit depth of an integer image deeper than 8 bits, else None)."""
        if self.box > 1:
            return box_deepen(load_image(self.path), self.box), None
        return load_image_depth(self.path)


@dataclass(frozen=True)
class Dataset:
    name: str
    root: Path
    items: tuple[Item, ...]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # group -> item names (reported apart)

    def manifest(self) -> list[dict[str, str]]:
        return [
            {"name": it.name, "file": str(it.path.relative_to(self.root)), "sha256": it.sha256} for it in self.items
        ]

    def manifest_hash(self) -> str:
        text = json.dumps(self.manifest(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resolve_dataset(cfg: DatasetConfig, where: str) -> Dataset:
    """Turn a dataset config into a sorted, hashed item list (deterministic order)."""
    if cfg.set is not None:
        sets = _named_sets()
        if cfg.set not in sets:
            raise DataError(
                f"{where}.set: unknown named set {cfg.set!r}; choose from: "
                f"{', '.join(sorted(sets))} (or use 'folder' + 'glob')"
            )
        root, pattern = sets[cfg.set]
        name = cfg.set
        hint = " (set SANDWICH_DATA to the shared data folder)" if cfg.set not in EMBEDDED_SETS else ""
    else:
        assert cfg.folder is not None  # DatasetConfig insists on set or folder
        root, pattern, name, hint = expand_path(cfg.folder), cfg.glob, Path(cfg.folder).name, ""
    if not root.is_dir():
        raise DataError(f"{where}: data folder not found: {root}{hint}")
    if isinstance(pattern, str):
        files = sorted(p for p in root.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    else:
        files = [root / f for f in pattern]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise DataError(f"{where}: files missing from {root}: {', '.join(missing)}")
    if not files:
        raise DataError(f"{where}: no images match {pattern!r} in {root}")
    if cfg.max_items is not None:
        files = files[: cfg.max_items]
    if cfg.box_average > 1 and cfg.video is None:
        where_box = f"{where}.box_average"
        if cfg.box_average > 16:
            raise DataError(f"{where_box}: at most 16 (each side of the box), got {cfg.box_average}")
    for f in files:  # from the headers, before anything is decoded (a tiny PNG can hold gigapixels)
        check_pixels(f, cfg.max_pixels, f"{where}.max_pixels")
    items = tuple(Item(f.stem, f, sha256_file(f), box=cfg.box_average) for f in files)
    names = [it.name for it in items]
    if len(set(names)) != len(names):
        raise DataError(f"{where}: two images share a file stem in {root}; names must be unique")
    wanted = cfg.groups if cfg.groups is not None else NAMED_GROUPS.get(cfg.set or "", {})
    unknown = sorted({n for members in wanted.values() for n in members} - {it.name for it in items})
    if cfg.groups is not None and unknown:
        raise DataError(
            f"{where}.groups: no eval item named {', '.join(unknown)}; items are named by file stem, e.g. {names[0]}"
        )
    groups = {g: tuple(n for n in members if n in names) for g, members in wanted.items()}
    return Dataset(name, root, items, {g: m for g, m in groups.items() if m})


def check_no_overlap(train: Dataset, evaluation: Dataset) -> None:
    """Train/eval overlap by content is an error: the numbers would be on seen data."""
    shared = {it.sha256 for it in train.items} & {it.sha256 for it in evaluation.items}
    if shared:
        names = sorted(it.name for it in evaluation.items if it.sha256 in shared)
        raise DataError(
            f"train and eval sets share {len(shared)} image(s) by sha256: "
            f"{', '.join(names[:5])}{' ...' if len(names) > 5 else ''}; remove them from one set"
        )


def _load_opencv(path: Path) -> np.ndarray | None:
    """OpenCV keeps 16-bit PNG/TIFF and Radiance HDR intact (Pillow cannot hold 16-bit RGB)."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None and path.suffix.lower() == ".hdr":
        img = _load_radiance_reordered(path)
    if img is None:
        return None
    if img.ndim == 3:
        img = img[:, :, 2::-1] if img.shape[2] >= 3 else img[:, :, :1]  # BGR(A) -> RGB, GA -> G
    return img


def _load_radiance_reordered(path: Path) -> np.ndarray | None:
    """Some Radiance files put header lines before the ``#?RADIANCE`` magic, which OpenCV
    rejects; move the magic to the front (a header-only change) and decode that copy."""
    import tempfile

    import cv2

    raw = path.read_bytes()
    magic = raw.find(b"#?RADIANCE\n")
    if magic <= 0 or magic > 4096:
        return None
    fixed = raw[magic : magic + 11] + raw[:magic] + raw[magic + 11 :]
    with tempfile.NamedTemporaryFile(suffix=".hdr") as tmp:
        tmp.write(fixed)
        tmp.flush()
        return cv2.imread(tmp.name, cv2.IMREAD_UNCHANGED)


def _load_exr(path: Path) -> np.ndarray | None:
    """OpenEXR (the official bindings): RGB or Y channels as float32, linear light."""
    import OpenEXR

    try:
        with OpenEXR.File(str(path)) as f:
            channels = f.channels()
            if "RGB" in channels:
                return channels["RGB"].pixels.astype(np.float32)
            if "RGBA" in channels:
                return channels["RGBA"].pixels[:, :, :3].astype(np.float32)
            if {"R", "G", "B"} <= channels.keys():
                return np.stack([channels[c].pixels for c in "RGB"], axis=-1).astype(np.float32)
            if "Y" in channels:
                return channels["Y"].pixels.astype(np.float32)
    except Exception:  # the bindings raise bare RuntimeError/OSError for corrupt files
        return None
    return None


def load_image(path: Path) -> np.ndarray:
    """Decode an image file to H x W x C; raise DataError (naming the file) if it cannot.

    Integer images deeper than 8 bits come as uint16 on the 16-bit scale (:mod:`bench.highbit`)."""
    return load_image_depth(path)[0]


def load_image_depth(path: Path) -> tuple[np.ndarray, int | None]:
    """(image, true bit depth of a deeper-than-8-bit integer image or None), see :func:`load_image`."""
    from bench import highbit

    path = Path(path)
    if not path.is_file():
        raise DataError(f"image not found: {path}")
    suffix = path.suffix.lower()
    depth: int | None = None
    img: np.ndarray | None
    if suffix in highbit.STREAM_SUFFIXES:
        img, depth = highbit.read_stream_still(path)
    elif suffix in {".png", ".tif", ".tiff", ".exr", ".hdr"}:
        if suffix in {".tif", ".tiff"}:
            img = highbit.read_tiff(path)
        else:
            img = _load_exr(path) if suffix == ".exr" else _load_opencv(path)
        if img is None:
            raise DataError(f"cannot decode {path}: not a readable {suffix} image (truncated or corrupt?)")
        if img.dtype == np.uint16:
            img, depth = highbit.scale_png16(img, path) if suffix == ".png" else (img, 16)
        elif img.dtype != np.uint8:
            img = img.astype(np.float32)
    else:
        try:
            with Image.open(path) as im:
                im.load()
                img = np.asarray(im.convert("L" if im.mode in {"L", "LA", "1", "I;16"} else "RGB"))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise DataError(f"cannot decode {path}: {exc} (truncated or not an image?)") from None
    if img.ndim == 2:
        img = img[:, :, None]
    return np.ascontiguousarray(img), depth


def box_deepen(img: np.ndarray, box: int) -> np.ndarray:
    """An 8-bit photo as a deep source: the mean of each ``box`` x ``box`` block (16 samples of 8 bits
    carry 12 significant bits; the noise falls by ``box``), on the 16-bit scale (x 257).

    Why: training a dequantiser needs sources whose low bits are real measurements with the
    smoothness of natural images, and deep photographs are scarce; averaging is what a sensor with
    bigger pixels would have measured."""
    if img.dtype != np.uint8:
        raise DataError(f"box_average makes deep sources from 8-bit images, got {img.dtype}")
    h, w = (img.shape[0] // box) * box, (img.shape[1] // box) * box
    blocks = img[:h, :w].astype(np.float64).reshape(h // box, box, w // box, box, img.shape[2])
    return np.rint(blocks.mean(axis=(1, 3)) * 257).astype(np.uint16)


def bitdepth_of(img: np.ndarray) -> int:
    """Container bit depth: 8 for uint8, 16 for uint16 (floats have none)."""
    if img.dtype == np.uint8:
        return 8
    if img.dtype == np.uint16:
        return 16
    raise DataError(f"no integer bit depth for dtype {img.dtype}")


def random_crop(img: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A size x size crop at a uniformly random position (the image is reflected if smaller)."""
    h, w = img.shape[:2]
    if h < size or w < size:
        ph, pw = max(0, size - h), max(0, size - w)
        img = np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="reflect")
        h, w = img.shape[:2]
    y = int(rng.integers(0, h - size + 1))
    x = int(rng.integers(0, w - size + 1))
    return img[y : y + size, x : x + size]
