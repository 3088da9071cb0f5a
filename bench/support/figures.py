"""Percentiles and the lines that print them.

Two ways of taking a percentile are kept, so that each script's figures compare with its own earlier
ones: the pipeline's nearest rank, and the in-process benchmarks' rounded position (numpy's
"nearest"). They agree for most sample sizes, but not for all (13, say).
"""
from __future__ import annotations

import math
import statistics


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of `values` (not empty)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def rounded_rank(values: list[float], p: float) -> float:
    """The value p% of the way along the sorted `values` (not empty), its position rounded."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def fmt_ms(values: list[float]) -> str:
    """p50 / p95 / p99 of `values` in ms, or "-" when there are none."""
    if not values:
        return "-"
    return " / ".join(f"{percentile(values, p):.1f}" for p in (50, 95, 99))


def report_times(label: str, seconds: list[float]) -> None:
    """Print the median and p95 of `seconds` in ms, and how many there were."""
    median, p95 = statistics.median(seconds), rounded_rank(seconds, 95)
    print(f"{label}  median {median * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   (n={len(seconds)})")
