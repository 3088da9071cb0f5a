"""Timings the rehearsal records, printed at the end of the run (conftest.py) whatever pytest captured."""
from __future__ import annotations

TIMINGS: list[tuple[str, float]] = []


def record(label: str, seconds: float) -> None:
    """Keep a timing for the summary printed at the end of the run."""
    TIMINGS.append((label, seconds))
