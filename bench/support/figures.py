"""Percentiles and the lines that print them."""
from __future__ import annotations

import math


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of `values` (not empty)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def fmt_ms(values: list[float]) -> str:
    """p50 / p95 / p99 of `values` in ms, or "-" when there are none."""
    if not values:
        return "-"
    return " / ".join(f"{percentile(values, p):.1f}" for p in (50, 95, 99))
