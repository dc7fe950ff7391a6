"""User-facing errors: the CLI prints their message on one line and exits non-zero."""

from __future__ import annotations


class BenchError(Exception):
    """Something the user can fix: bad config, missing file, unusable input."""


class ConfigError(BenchError):
    """The experiment YAML is invalid (unknown key, bad value, missing data)."""


class DataError(BenchError):
    """An input image or data folder is missing, unreadable or unsuitable."""


class CodecError(BenchError):
    """A real encoder/decoder failed; the message names the codec, parameter and stderr tail."""

    def __init__(self, codec: str, param: object, detail: str, stderr: str = "") -> None:
        tail = stderr.strip().splitlines()[-5:] if stderr else []
        msg = f"codec {codec!r} failed at {param}: {detail}"
        if tail:
            msg += " | stderr: " + " / ".join(tail)
        super().__init__(msg)
        self.codec, self.param, self.stderr = codec, param, stderr
