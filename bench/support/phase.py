"""A phase of a pipeline run: its failure, the steps that undo what it made, its printed lines."""
from __future__ import annotations


class PhaseFailed(Exception):
    """A phase could not finish: the system answered with errors or stopped delivering."""


def say(*parts) -> None:
    """Print a line at once, so that a run in the background shows where it is."""
    print(*parts, flush=True)


class Cleanup:
    """Undo steps, run last-in first-out; each one's failure is reported and the rest still run."""

    def __init__(self) -> None:
        self._steps: list = []

    def push(self, step) -> None:
        self._steps.append(step)

    def run(self) -> None:
        while self._steps:
            step = self._steps.pop()
            try:
                step()
            except Exception as exc:  # noqa: BLE001
                say(f"cleanup step failed: {exc.__class__.__name__}: {exc}")
