"""The background work that keeps the history chained and signed while intake runs.

- The linker chains newly appended entries a few times a second.
- The chain head is signed as soon as the chain moved and then at most every HEAD_INTERVAL
  seconds, so while entries arrive a signed head is never more than a minute behind; it is signed
  once more on a clean stop. Every head is also logged, a copy kept apart from the database.
- The verifier walks the whole chain and its heads every VERIFY_EVERY seconds (the first time a
  minute after start), as `python -m intake audit verify` does, and keeps the outcome for
  /metrics: a chain changed behind the service's back raises an alert within the hour instead of
  waiting for the next audit.
- A database outage only delays them: the step fails, the connection is dropped, the next step
  tries again.
"""
from __future__ import annotations

import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

import peewee
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from intake.audit import chain
from intake.audit.keys import Signer, public_pem
from intake.audit.verify import summary, verify
from intake.db import database

log = logging.getLogger(__name__)

HEAD_INTERVAL = 30.0
LINK_EVERY = 0.5
MAX_BATCHES_PER_PASS = 20
# The walk reads every entry (seconds for a million, see bench/audit.py), so it runs hourly; each
# replica walks on its own, which keeps the outcome it serves its own.
VERIFY_EVERY = 3600.0
VERIFY_CHECK_EVERY = 60.0


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



def walk_apart(db_url: str, public_pems: list[str]) -> dict:
    """Walk the whole chain in this process (a fresh one, made for the walk): its verdict as a dict.

    Run through ProcessPoolExecutor with the spawn start method, so it takes nothing from the service
    but the database's URL and the public keys."""
    from invite_common.db import connect

    from intake.audit.keys import key_id, load_public_pem

    keys = {key_id(k): k for k in map(load_public_pem, public_pems)}
    db = connect(db_url)
    database.initialize(db)
    try:
        result = verify(keys, workers=1)
    finally:
        db.close()
    return {"intact": result.intact, "checked": result.checked, "unsigned": result.unsigned, "summary": summary(result)}


class ChainVerifier:
    """Walks the whole history chain now and then and keeps what it found, for /metrics.

    The walk runs in a process of its own: walking a million entries is tens of seconds of CPU, which
    on one of intake's threads would hold the interpreter's lock from the portal's requests. The
    process is spawned, not forked (intake has threads; a fork would copy their locks mid-use)."""

    def __init__(self, keys: dict[str, Ed25519PublicKey], db_url: str, *, every: float = VERIFY_EVERY,
                 walk: Callable[[str, list[str]], dict] = walk_apart):
        self.public_pems = [public_pem(k) for k in keys.values()]
        self.db_url = db_url
        self.every = every
        self.walk = walk
        # wall-clock times, as Prometheus reads them; before the first walk the age counts from
        # the start, so a walk that never completes is noticed as well as one that fails
        self.started_at = time.time()
        self.verified_at: float | None = None
        self.intact: bool | None = None

    def _walk(self) -> dict:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            return pool.submit(self.walk, self.db_url, self.public_pems).result()

    def run_once(self) -> None:
        """Walk the chain if the last walk is older than `every`; keep whether it was intact."""
        if self.verified_at is not None and time.time() - self.verified_at < self.every:
            return
        try:
            result = self._walk()
            if not result["intact"]:
                # a walk reads the erasures first and the entries after: retention erasing a request
                # in between looks like an erasure nobody recorded. A second walk settles it; a real
                # change stays.
                log.warning("history chain walk found a problem, walking again", extra={"summary": result["summary"]})
                result = self._walk()
        except (peewee.PeeweeException, BrokenProcessPool, OSError) as exc:
            log.warning("history verifier could not walk the chain, will retry", extra={"error": exc.__class__.__name__})
            return
        self.intact, self.verified_at = result["intact"], time.time()
        if result["intact"]:
            log.info("history chain verified", extra={"checked": result["checked"], "unsigned": result["unsigned"]})
        else:
            # the summary names the entry and the problem; the entry's actor (an email) stays out of the log
            log.error("history chain NOT intact", extra={"summary": result["summary"]})

    def age(self) -> float:
        """Seconds since the last completed walk, or since the start before the first."""
        return time.time() - (self.verified_at if self.verified_at is not None else self.started_at)
