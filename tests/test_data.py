"""Datasets on real files: manifests, named sets, overlap, bit depths, corrupt files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.config import DatasetConfig
from bench.data import check_no_overlap, load_image, random_crop, resolve_dataset, sha256_file
from bench.errors import DataError


def test_kodak_manifest_is_sorted_and_hashed(data_dir: Path) -> None:
    ds = resolve_dataset(DatasetConfig(set="kodak"), "data.eval")
    assert [it.name for it in ds.items][:2] == ["kodim01", "kodim02"] and len(ds.items) == 24
    assert ds.items[0].sha256 == sha256_file(data_dir / "kodak" / "kodim01.png")
    again = resolve_dataset(DatasetConfig(folder=data_dir / "kodak", glob="kodim*.png"), "data.eval")
    assert again.manifest_hash() == ds.manifest_hash()
    assert resolve_dataset(DatasetConfig(set="kodak", max_items=3), "x").manifest_hash() != ds.manifest_hash()


def test_skimage_set_is_embedded_with_odd_sizes() -> None:
    ds = resolve_dataset(DatasetConfig(set="skimage"), "data.eval")
    shapes = [it.load().shape for it in ds.items]
    assert all(s[2] == 3 for s in shapes)
    assert any(s[1] % 2 for s in shapes)  # chelsea / motorcycle_left have odd widths


def test_overlap_by_content_is_an_error(tmp_path: Path, data_dir: Path) -> None:
    (tmp_path / "copy_of_kodim05.png").write_bytes((data_dir / "kodak" / "kodim05.png").read_bytes())
    train = resolve_dataset(DatasetConfig(folder=tmp_path, glob="*.png"), "data.train")
    evaluation = resolve_dataset(DatasetConfig(set="kodak"), "data.eval")
    with pytest.raises(DataError, match="share 1 image.*kodim05"):
        check_no_overlap(train, evaluation)


def test_missing_folder_and_empty_glob(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="data folder not found"):
        resolve_dataset(DatasetConfig(folder=tmp_path / "nope"), "data.eval")
    with pytest.raises(DataError, match="no images match"):
        resolve_dataset(DatasetConfig(folder=tmp_path, glob="*.png"), "data.eval")
    with pytest.raises(DataError, match="unknown named set 'kodac'"):
        resolve_dataset(DatasetConfig(set="kodac"), "data.eval")


def test_corrupt_and_truncated_images_name_the_file(tmp_path: Path, data_dir: Path) -> None:
    png = tmp_path / "broken.png"
    png.write_bytes((data_dir / "kodak" / "kodim01.png").read_bytes()[:3000])
    with pytest.raises(DataError, match="broken.png"):
        load_image(png)
    jpg = tmp_path / "junk.jpg"
    jpg.write_bytes(b"not a jpeg at all")
    with pytest.raises(DataError, match="junk.jpg"):
        load_image(jpg)


def test_bit_depths_survive_loading(tmp_path: Path, data_dir: Path) -> None:
    import cv2

    deep = (np.arange(64 * 48 * 3, dtype=np.uint32).reshape(64, 48, 3) * 37 % 65536).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), deep[:, :, ::-1])
    cv2.imwrite(str(tmp_path / "deep.tif"), deep[:, :, ::-1])
    for f in ("deep.png", "deep.tif"):
        img = load_image(tmp_path / f)
        assert img.dtype == np.uint16 and np.array_equal(img, deep)
    Image.fromarray(deep[:, :, 0] >> 8).convert("L").save(tmp_path / "gray.png")
    assert load_image(tmp_path / "gray.png").shape == (64, 48, 1)
    hdr = load_image(data_dir / "hdr" / "memorial.hdr")  # header lines before the magic
    exr = load_image(data_dir / "hdr" / "Desk.exr")
    assert hdr.dtype == exr.dtype == np.float32 and hdr.max() > 1.0 and exr.max() > 1.0


def test_random_crop_is_seeded_and_pads_small_images() -> None:
    img = np.arange(40 * 30 * 3, dtype=np.uint8).reshape(40, 30, 3)
    a = random_crop(img, 16, np.random.default_rng(1))
    b = random_crop(img, 16, np.random.default_rng(1))
    assert a.shape == (16, 16, 3) and np.array_equal(a, b)
    assert random_crop(img, 64, np.random.default_rng(0)).shape == (64, 64, 3)
