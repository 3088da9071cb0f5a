"""The background work that keeps the history chained and signed while intake runs.

- The linker chains newly appended entries a few times a second.
- The chain head is signed as soon as the chain moved and then at most every HEAD_INTERVAL
  seconds, so while entries arrive a signed head is never more than a minute behind; it is signed
  once more on a clean stop. Every head is also logged, a copy kept apart from the database.
- A database outage only delays both: the step fails, the connection is dropped, the next step
  tries again.
"""
from __future__ import annotations

import logging
import time

import peewee

from intake.audit import chain
from intake.audit.keys import Signer
from intake.db import database

log = logging.getLogger(__name__)

HEAD_INTERVAL = 30.0
LINK_EVERY = 0.5
MAX_BATCHES_PER_PASS = 20


class HistoryChainKeeper:
    """Links appended entries in one order and signs the chain head when it is due."""

    def __init__(self, signer: Signer, *, head_interval: float = HEAD_INTERVAL):
        self.signer = signer
        self.head_interval = head_interval
        # the chain may be ahead of the last signed head at start (after a crash): check at once
        self._moved = True
        self._last_signed = float("-inf")
        self.linked = 0
        self.healthy = True

    def run_once(self) -> int:
        """Chain everything appended so far, sign the head if due; return how many were chained."""
        try:
            linked = 0
            # a bounded pass, so a big backlog (after an upgrade) never keeps a stop waiting long
            for _ in range(MAX_BATCHES_PER_PASS):
                batch = chain.link_pending(self.signer)
                linked += batch
                if not batch:
                    break
            self.linked += linked
            self._moved = self._moved or linked > 0
            now = time.monotonic()
            if self._moved and now - self._last_signed >= self.head_interval:
                if self._sign():
                    self._last_signed = now
                self._moved = False
            self.healthy = True
            return linked
        except peewee.PeeweeException as exc:
            self.healthy = False
            log.warning("history linker cannot reach the database, will retry", extra={"error": exc.__class__.__name__})
            try:
                database.close()
            except Exception:
                pass
            return 0

    def finish(self) -> None:
        """On a clean stop: chain what is left and sign the last head."""
        try:
            for _ in range(MAX_BATCHES_PER_PASS):
                if not chain.link_pending(self.signer):
                    break
            self._sign()
        except peewee.PeeweeException:
            log.warning("history linker stopped before it could sign the last head")

    def _sign(self) -> bool:
        head = chain.sign_head(self.signer)
        if head is not None:
            log.info("history head signed", extra={"position": head.seq, "hash": head.hash, "signature": head.signature})
        return head is not None

