"""Result files are readable by the group like any file the user writes: mode 0666 & ~umask, not mkstemp's 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.io_utils import write_bytes_atomic, write_json_atomic, write_text_atomic

WRITERS: dict[str, tuple[Callable[[Path, Any], None], Any]] = {
    "json": (write_json_atomic, {"a": 1}),
    "text": (write_text_atomic, "text\n"),
    "bytes": (write_bytes_atomic, b"\x00\x01"),
}


@pytest.fixture(params=[0o022, 0o002], ids=["umask022", "umask002"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


@pytest.mark.parametrize("kind", WRITERS)
def test_atomic_writes_get_the_mode_open_would(kind: str, umask: int, tmp_path: Path) -> None:
    write, data = WRITERS[kind]
    plain = tmp_path / "plain"
    plain.write_bytes(b"")  # what open() gives under this umask
    write(tmp_path / "result", data)
    mode = stat.S_IMODE((tmp_path / "result").stat().st_mode)
    assert mode == stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain", "result"]  # no temporary file left
