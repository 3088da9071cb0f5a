"""The background work that keeps the history chained and signed while intake runs.

- The linker chains newly appended entries about twice a second (woken sooner by `notify`).
- The head signer signs the chain's last entry every HEAD_INTERVAL seconds when it moved, so
  while entries arrive a signed head is never more than a minute behind; it signs once more on
  a clean stop. A database outage only delays both: they retry with backoff.
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
        backoff, next_head, next_retention = 0.1, 0.0, time.monotonic() + 5.0
        while not self._stopping.is_set():
            try:
                linked = chain.link_pending(self.signer)
                self.linked += linked
                now = time.monotonic()
                if now >= next_head:
                    head = chain.sign_head(self.signer)
                    if head is not None:
                        log.info("history head signed", extra={"position": head.seq, "hash": head.hash,
                                                               "signature": head.signature})
                    next_head = now + self.head_interval
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

    def _finish(self) -> None:
        try:
            while chain.link_pending(self.signer):
                pass
            chain.sign_head(self.signer)
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
