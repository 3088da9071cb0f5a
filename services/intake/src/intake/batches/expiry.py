"""Batch drafts expire: a draft not submitted within DRAFT_EXPIRY_DAYS is no longer shown, then deleted.

A draft holds personal data of people not yet invited; kept for ever, abandoned drafts would
pile up. Submitted drafts stay: the requests made from them point back at them.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading

from invite_common.db import utcnow

from intake.batches.models import DRAFT, BatchDraft, BatchRow
from intake.db import database

log = logging.getLogger(__name__)

# How often the sweeper looks for expired drafts; expired ones are hidden at once in any case.
SWEEP_SECONDS = 3600.0


def expiry_cutoff(days: float, now: dt.datetime | None = None) -> dt.datetime:
    """Drafts created before this moment have expired."""
    return (now or utcnow()) - dt.timedelta(days=days)


def is_expired(draft: BatchDraft, days: float, now: dt.datetime | None = None) -> bool:
    """Tell whether a draft, not yet submitted, is past its expiry."""
    return draft.status == DRAFT and draft.created_at < expiry_cutoff(days, now)


def delete_expired_drafts(days: float, now: dt.datetime | None = None) -> int:
    """Delete every draft not submitted within `days`, with its rows; return how many went."""
    cutoff = expiry_cutoff(days, now)
    expired = BatchDraft.select(BatchDraft.id).where((BatchDraft.status == DRAFT) & (BatchDraft.created_at < cutoff))
    with database.atomic():
        # rows first: SQLite enforces the foreign key's cascade only when told to
        BatchRow.delete().where(BatchRow.draft.in_(expired)).execute()
        deleted = BatchDraft.delete().where((BatchDraft.status == DRAFT) & (BatchDraft.created_at < cutoff)).execute()
    return deleted


class DraftSweeper:
    """Deletes expired drafts now and then, on a thread of its own, until stopped."""

    def __init__(self, days: float, interval: float = SWEEP_SECONDS):
        self.days = days
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="draft-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                deleted = delete_expired_drafts(self.days)
                if deleted:
                    log.info("expired batch drafts deleted", extra={"count": deleted})
            except Exception:
                # the database may be away; the next sweep tries again
                log.warning("sweeping expired drafts failed", exc_info=True)
            finally:
                if not database.is_closed():
                    database.close()
            self._stop.wait(self.interval)
