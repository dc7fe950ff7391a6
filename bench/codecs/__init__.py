"""Real codecs, by registry name: ``jpeg``, ``jpeg12``, ``hevc``, ``av1``.

Importing this package registers them; ``get_codec(name, **options)`` builds one from a config.
"""
from __future__ import annotations

import inspect
from typing import Any

from bench.codecs import intra, jpeg, jpeg12  # noqa: F401  (imported to register the codecs)
from bench.codecs.base import CODECS, Codec, EncodeResult

__all__ = ["CODECS", "Codec", "EncodeResult", "get_codec"]


def get_codec(name: str, **options: Any) -> Codec:
    """The codec ``name`` built with ``options``; an unknown option is a ValueError naming it."""
    cls = CODECS.get(name)
    accepted = list(inspect.signature(cls).parameters)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"codec {name!r} has no option {', '.join(map(repr, unknown))}; "
                         f"its options are: {', '.join(accepted) or '(none)'}")
    return cls(**options)
