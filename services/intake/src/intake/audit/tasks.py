"""The background work that keeps the history chained and signed while intake runs.

- The linker chains newly appended entries about twice a second (woken sooner by `notify`).
- The head signer signs the chain's last entry as soon as it moved, then at most every
  HEAD_INTERVAL seconds, so while entries arrive a signed head is never more than a minute
  behind; it signs once more on a clean stop. A database outage only delays both: they retry with backoff.
- Retention (when RETENTION_DAYS is set) erases personal data of long-closed requests hourly.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import peewee

from intake.audit import chain
from intake.audit.keys import Signer
from intake.db import database

log = logging.getLogger(__name__)

HEAD_INTERVAL = 30.0


class HistoryLinker(threading.Thread):
    """Chains appended history entries in one order and signs the chain head periodically."""

    def __init__(self, signer: Signer, *, poll_interval: float = 0.5, head_interval: float = HEAD_INTERVAL,
                 retention: Callable[[], int] | None = None, retention_interval: float = 3600.0):
        super().__init__(name="history-linker", daemon=True)
        self.signer = signer
        self.poll_interval = poll_interval
        self.head_interval = head_interval
        self.retention = retention
        self.retention_interval = retention_interval
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self.healthy = True
        self.linked = 0

    def notify(self) -> None:
        """Ask for a linking pass now (after a commit that appended entries)."""
        self._wake.set()

    def run(self) -> None:
        # moved: the chain may be ahead of the last signed head (also at start, after a crash)
        backoff, moved, last_signed, next_retention = 0.1, True, float("-inf"), time.monotonic() + 5.0
        while not self._stopping.is_set():
            try:
                linked = chain.link_pending(self.signer)
                self.linked += linked
                moved = moved or linked > 0
                now = time.monotonic()
                if moved and now - last_signed >= self.head_interval:
                    if self._sign():
                        last_signed = now
                    moved = False
                if self.retention is not None and now >= next_retention:
                    self.retention()
                    next_retention = now + self.retention_interval
                self.healthy, backoff = True, 0.1
                if linked == 0:
                    self._wake.wait(self.poll_interval)
                    self._wake.clear()
            except peewee.PeeweeException as exc:
                self.healthy = False
                log.warning("history linker cannot reach the database, will retry", extra={"error": exc.__class__.__name__})
                self._reset_db()
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        self._finish()

    def _sign(self) -> bool:
        head = chain.sign_head(self.signer)
        if head is not None:
            # the log keeps a copy of every head apart from the database
            log.info("history head signed", extra={"position": head.seq, "hash": head.hash, "signature": head.signature})
        return head is not None

    def _finish(self) -> None:
        try:
            while chain.link_pending(self.signer):
                pass
            self._sign()
        except peewee.PeeweeException:
            log.warning("history linker stopped before it could sign the last head")

    @staticmethod
    def _reset_db() -> None:
        try:
            database.close()
        except Exception:
            pass

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self.is_alive():
            self.join(timeout)
