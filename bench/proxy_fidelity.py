"""The training proxy's rate against the real codec's, on what a run evaluated.

A method that trains through a proxy may report the proxy's estimate beside each real row
(``proxy_kbps`` next to the stream's ``kbps``: the video sandwich does; a sandwich wrapping x265 also
``proxy_kbps_calibrated``, the estimate times the per-QP ratio training counted bits with). The summary pairs them per
member, as ``sandwich.diagnostics.video_fidelity`` does for the untrained proxy on source clips.
"""

from __future__ import annotations

import math

import numpy as np

from bench.records import Cell


def summarise(results: dict[str, list[dict]], rates: list[str]) -> dict[str, dict]:
    """Correlation, uncalibrated ratio and per-clip-calibrated error for each rate model."""
    summary = {}
    for rate in rates:
        real = np.array([r["x265_kbps"] for rows in results.values() for r in rows])
        est = np.array([r[f"{rate}_kbps"] for rows in results.values() for r in rows])
        errors = []
        for rows in results.values():
            mid = rows[len(rows) // 2]
            scale = mid["x265_kbps"] / mid[f"{rate}_kbps"]
            errors += [abs(scale * r[f"{rate}_kbps"] / r["x265_kbps"] - 1) for r in rows if r is not mid]
        ratio = est / real
        summary[rate] = {
            "pearson_log": float(np.corrcoef(np.log(est), np.log(real))[0, 1]) if real.size > 2 else math.nan,
            "ratio_median": float(np.median(ratio)),
            "ratio_min": float(ratio.min()),
            "ratio_max": float(ratio.max()),
            "calibrated_error_mean": float(np.mean(errors)) if errors else math.nan,
            "calibrated_error_max": float(np.max(errors)) if errors else math.nan,
            "points": int(real.size),
        }
    return summary


def cells_summary(cells: list[Cell]) -> dict[str, dict]:
    """The same figures for a run's video sandwich members: every evaluated (clip, QP) whose row
    holds ``proxy_kbps`` (the trained model's bottleneck through the proxy at that QP) against the
    real stream's kbps, one entry per member, with the per-point pairs kept."""
    by_member: dict[str, dict[str, list[dict]]] = {}
    for cell in cells:
        for row in cell.rows:
            if "proxy_kbps" in row.extra and row.kbps is not None:
                clips = by_member.setdefault(cell.method, {})
                clips.setdefault(row.item, []).append(
                    {
                        "qp": row.extra.get("qp"),
                        "x265_kbps": row.kbps,
                        "proxy_kbps": row.extra["proxy_kbps"],
                        "proxy_b_psnr": row.extra.get("proxy_b_psnr"),
                        **(
                            {"calibrated_kbps": row.extra["proxy_kbps_calibrated"]}
                            if "proxy_kbps_calibrated" in row.extra
                            else {}
                        ),
                    }
                )
    out = {}
    for member, clips in sorted(by_member.items()):
        for rows in clips.values():
            rows.sort(key=lambda r: r["x265_kbps"])
        calibrated = all("calibrated_kbps" in r for rows in clips.values() for r in rows)
        out[member] = {
            **summarise(clips, ["proxy"]).get("proxy", {}),
            # a wrapping sandwich's proxy with its per-QP calibration to the wrapped codec (training's rate)
            **({"calibrated": summarise(clips, ["calibrated"])["calibrated"]} if calibrated else {}),
            "points_by_clip": clips,
        }
    return out
