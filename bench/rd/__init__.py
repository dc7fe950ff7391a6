"""RD math: BD-rate/BD-PSNR, Pareto frontier and hull, bootstrap CIs, result-file curves."""

from bench.rd.bd import MIN_POINTS, BDResult, bd
from bench.rd.bootstrap import BootstrapCI, bootstrap_bd
from bench.rd.curves import Results, bdrate_files, curve, load_results, metric_axis, parse_results
from bench.rd.pareto import frontier, pareto_front, upper_hull

__all__ = [
    "MIN_POINTS",
    "BDResult",
    "BootstrapCI",
    "Results",
    "bd",
    "bdrate_files",
    "bootstrap_bd",
    "curve",
    "frontier",
    "load_results",
    "metric_axis",
    "pareto_front",
    "parse_results",
    "upper_hull",
]
