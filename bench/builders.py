"""Method kinds are plug-ins: ``baselines`` and ``sandwich`` register a builder per config ``kind``.

The harness never imports the packages that implement methods (the import rule in
``docs/design.md``); it finds them through the ``sandwich_bench.methods`` entry points declared in
``pyproject.toml``, whose modules register their builders in :data:`BUILDERS` when imported.
A builder turns one config entry into the harness methods it stands for (a sandwich gives one per
λ) and raises :class:`~bench.errors.ConfigError` naming the config path for anything it refuses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points

from bench.config import CodecMethodConfig, ExperimentConfig, MethodConfig
from bench.data import Dataset
from bench.errors import ConfigError
from bench.method import Method
from bench.registry import Registry, UnknownNameError
from bench.scenarios import Scenario

PLUGIN_GROUP = "sandwich_bench.methods"


@dataclass(frozen=True)
class BuildContext:
    """What a builder may use. Codec methods are built before any data is read (``eval_set`` None)."""

    cfg: ExperimentConfig
    scenario: Scenario
    video: bool
    channels: int = 3
    eval_set: Dataset | None = None
    stills: Dataset | None = None

    def codec_configs(self) -> dict[str, CodecMethodConfig]:
        return {m.name: m for m in self.cfg.methods if isinstance(m, CodecMethodConfig)}


MethodBuilder = Callable[[str, MethodConfig, BuildContext], list[Method]]
BUILDERS: Registry[MethodBuilder] = Registry("method kind")


@functools.cache
def load_plugins() -> None:
    """Import every installed method plug-in once (each registers its builders on import)."""
    for ep in entry_points(group=PLUGIN_GROUP):
        ep.load()


def build_methods(i: int, m: MethodConfig, ctx: BuildContext) -> list[Method]:
    """The harness methods config entry ``methods.i`` stands for."""
    load_plugins()
    where = f"methods.{i} ({m.name})"
    try:
        builder = BUILDERS.get(m.kind)
    except UnknownNameError as exc:
        raise ConfigError(f"{where}: {exc} (is the package that provides it installed?)") from None
    return builder(where, m, ctx)
