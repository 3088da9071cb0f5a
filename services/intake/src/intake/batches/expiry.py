"""Batch drafts expire: a draft not submitted within DRAFT_EXPIRY_DAYS is no longer shown, then deleted.

A draft holds personal data of people not yet invited; kept for ever, abandoned drafts would
pile up. Submitted drafts stay: the requests made from them point back at them.
"""
from __future__ import annotations

import datetime as dt
import logging

from invite_common.db import utcnow

from intake.models import BatchDraft, BatchRemoval, BatchRow, DraftStatus
from intake.db import database

log = logging.getLogger(__name__)

# How often the service looks for expired drafts to delete; expired ones are hidden at once in any case.
SWEEP_SECONDS = 3600.0


def expiry_cutoff(days: float, now: dt.datetime | None = None) -> dt.datetime:
    """Drafts created before this moment have expired."""
    return (now or utcnow()) - dt.timedelta(days=days)


def is_expired(draft: BatchDraft, days: float, now: dt.datetime | None = None) -> bool:
    """Tell whether a draft, not yet submitted, is past its expiry."""
    return draft.status == DraftStatus.OPEN and draft.created_at < expiry_cutoff(days, now)


def delete_expired_drafts(days: float, now: dt.datetime | None = None) -> int:
    """Delete every draft not submitted within `days`, with its rows; return how many went."""
    cutoff = expiry_cutoff(days, now)
    expired = BatchDraft.select(BatchDraft.id).where((BatchDraft.status == DraftStatus.OPEN) & (BatchDraft.created_at < cutoff))
    with database.atomic():
        # rows first: SQLite enforces the foreign key's cascade only when told to
        BatchRow.delete().where(BatchRow.draft.in_(expired)).execute()
        BatchRemoval.delete().where(BatchRemoval.draft.in_(expired)).execute()
        deleted = BatchDraft.delete().where((BatchDraft.status == DraftStatus.OPEN) & (BatchDraft.created_at < cutoff)).execute()
    return deleted


def sweep(days: float) -> int:
    """Delete the drafts expired now, saying how many went; the service runs it every SWEEP_SECONDS."""
    deleted = delete_expired_drafts(days)
    if deleted:
        log.info("expired batch drafts deleted", extra={"count": deleted})
    return deleted
