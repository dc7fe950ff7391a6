"""Real codecs in one registry, ``CODECS``: all-intra ``jpeg``, ``jpeg12``, ``hevc``, ``av1`` (image
experiments) and low-delay P ``x264``, ``x265``, ``av1-ld`` (video experiments).

Importing this package registers them; ``CODECS.build(name, **options)`` builds one from a config.
"""

from __future__ import annotations

from bench.codecs import intra, jpeg, jpeg12, low_delay  # noqa: F401  (imported to register the codecs)
from bench.codecs.annexb import frame_type_bytes
from bench.codecs.base import CODECS, Codec, EncodeResult, codec_names, kbps

__all__ = ["CODECS", "Codec", "EncodeResult", "codec_names", "frame_type_bytes", "kbps"]
