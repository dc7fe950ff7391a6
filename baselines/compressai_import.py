"""Import CompressAI without torchvision.

CompressAI imports ``torchvision.transforms`` only to fill a registry of transform names
(``compressai/registry/transforms.py``). The PyPI torchvision wheel is a CUDA build that fails to
import beside our CPU torch (``operator torchvision::nms does not exist``), so we never import it:
unless a torchvision is already loaded in this process, an empty stand-in module is placed in
``sys.modules`` for the duration of ``import compressai`` and removed afterwards, so nothing
else in the process ever sees it. Models and the entropy coder need nothing from torchvision.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

from bench.errors import BenchError

INSTALL_FIX = (
    "pip install -c constraints.txt --no-deps compressai==1.2.8 && "
    "pip install -c constraints.txt einops torch-geometric pytorch-msssim"
)
ENTROPY_CODER = "ans"


def _standin_modules() -> dict[str, types.ModuleType]:
    """Empty ``torchvision`` / ``torchvision.transforms``: the registry then simply holds no names."""
    root = types.ModuleType("torchvision")
    transforms = types.ModuleType("torchvision.transforms")
    vars(root).update(transforms=transforms, __sandwich_standin__=True)
    return {"torchvision": root, "torchvision.transforms": transforms}


def import_compressai() -> Any:
    """Return the ``compressai`` module with its ANS entropy coder checked; BenchError with the fix if not."""
    if sys.modules.get("compressai") is not None:
        return _checked(sys.modules["compressai"])
    standins = {} if "torchvision" in sys.modules else _standin_modules()
    sys.modules.update(standins)
    try:
        compressai = importlib.import_module("compressai")
    except ModuleNotFoundError as exc:
        what = "compressai" if exc.name in (None, "compressai") else f"compressai's dependency {exc.name!r}"
        raise BenchError(f"{what} is not installed (needed for 'kind: compressai'): {INSTALL_FIX}") from None
    finally:
        for name in standins:
            if sys.modules.get(name) is standins[name]:
                del sys.modules[name]
    return _checked(compressai)


def _checked(compressai: Any) -> Any:
    coders = compressai.available_entropy_coders()
    if ENTROPY_CODER not in coders:
        raise BenchError(
            f"compressai {compressai.__version__} has no {ENTROPY_CODER!r} entropy coder "
            f"(available: {', '.join(coders) or 'none'}); reinstall it: {INSTALL_FIX}"
        )
    compressai.set_entropy_coder(ENTROPY_CODER)
    return compressai
