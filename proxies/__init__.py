"""Differentiable codec proxies: train through these, evaluate through the real codecs.

``ImageProxy`` (JPEG-like, METHOD §3) returns a ``ProxyOutput``; its rate model is calibrated to
a real codec (``jpeg``, ``hevc``) or calibration-free (``gaussian``, ``laplacian``).
"""

from proxies.image_proxy import ImageProxy, ProxyOutput
from proxies.quantizers import QUANTIZERS
from proxies.rate import RATE_MODELS, CalibratedRate, GaussianRate, LaplacianRate, make_rate

__all__ = [
    "QUANTIZERS",
    "RATE_MODELS",
    "CalibratedRate",
    "GaussianRate",
    "ImageProxy",
    "LaplacianRate",
    "ProxyOutput",
    "make_rate",
]
