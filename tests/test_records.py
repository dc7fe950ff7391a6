"""Typed cells and rows read and write exactly the JSON run folders hold (older cells load unchanged)."""

from __future__ import annotations

import json

from bench.records import Cell, Row

IMAGE_CELL = {
    "method": "jpeg-420",
    "role": "anchor",
    "rate_point": 10,
    "rows": [
        {
            "item": "astronaut",
            "sha256": "88",
            "nbytes": 8618,
            "bpp": 0.263,
            "encode_s": 0.005,
            "decode_s": 0.0005,
            "psnr-rgb": 17.56,
            "psnr-y": 28.96,
            "ms-ssim-rgb": None,
            "bitdepth": 12,
            "recon": "recon/jpeg-420/10/astronaut.png",
            "post_on": 0.5,
            "real_step": 3.0,
        }
    ],
    "command": "pillow",
    "git_sha": "abc",
    "complete": True,
    "inputs": {"items": {"astronaut": "88"}},
    "meta": {"codec": "jpeg"},
    "mlflow_run_id": "r1",
    "mlflow_parent": "p1",
}
VIDEO_ROW = {
    "item": "foreman",
    "sha256": "ff",
    "nbytes": 900,
    "kbps": 72.0,
    "bpp": 0.02,
    "frames": 10,
    "fps": 25.0,
    "encode_s": 1.0,
    "decode_s": 0.1,
    "psnr-yuv": 33.1,
    "vmaf": 80.0,
    "per_frame": {"psnr-yuv": [33.0, 33.2], "vmaf": [79.0, 81.0]},
    "qp": 32,
    "proxy_kbps": 70.5,
}


def test_a_cell_round_trips_key_for_key() -> None:
    cell = Cell.from_json(IMAGE_CELL)
    assert json.dumps(cell.to_json()) == json.dumps(IMAGE_CELL)
    row = cell.rows[0]
    assert row.values == {"psnr-rgb": 17.56, "psnr-y": 28.96, "ms-ssim-rgb": None}
    assert row.extra == {"post_on": 0.5, "real_step": 3.0} and row.bitdepth == 12
    assert (row.get("psnr-y"), row.get("bpp"), row.get("post_on"), row.get("kbps"), row.get("lpips-alex")) == (
        28.96,
        0.263,
        0.5,
        None,
        None,
    )


def test_a_clip_row_keeps_rates_per_frame_values_and_extras() -> None:
    row = Row.from_json(VIDEO_ROW)
    assert json.dumps(row.to_json()) == json.dumps(VIDEO_ROW)
    assert (row.kbps, row.frames, row.fps, row.per_frame) == (72.0, 10, 25.0, VIDEO_ROW["per_frame"])
    assert row.extra == {"qp": 32, "proxy_kbps": 70.5}


def test_a_group_keeps_only_its_items() -> None:
    cell = Cell.from_json({**IMAGE_CELL, "rows": [*IMAGE_CELL["rows"], {**IMAGE_CELL["rows"][0], "item": "b"}]})
    assert [r.item for r in cell.only({"b"}).rows] == ["b"]
