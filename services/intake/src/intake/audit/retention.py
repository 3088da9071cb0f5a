"""Retention: erase the personal data of requests closed longer than RETENTION_DAYS ago.

A request's names, email addresses, phone number, TechPass username and free-text reason become
pseudonyms or blanks; its history entries keep their actor's pseudonym (committed by the chain),
lose their notes and personal details, and lose their salt, so the chain's salted digests still
verify and cannot be matched against guesses. Each erasure is itself recorded in the request's
history. Old outbox messages, idempotency keys and submitted batch rows, which repeat the same
data, are deleted. On SQLite the file is then vacuumed and its write-ahead log truncated so the
erased values leave the files; on PostgreSQL the tables are vacuumed (see the README for what that
does and does not guarantee on disk).
"""
from __future__ import annotations

import datetime as dt
import logging

import peewee

from invite_common.db import utcnow
from invite_common.outbox import outbox_model

from intake import history, lifecycle
from intake.audit import chain
from intake.audit.keys import Signer
from intake.audit.verify import ERASURE_EVENT
from intake.db import database
from intake.models import BatchDraft, BatchRemoval, BatchRow, DraftStatus, HistoryEntry, IdempotencyKey, InviteRequest

log = logging.getLogger(__name__)

BATCH = 200
ERASED_TABLES = ("invite_request", "history_entry", "batch_row", "outbox_message", "idempotency_key")


def _erase_request(invite: InviteRequest, key: bytes, days: int, now: dt.datetime) -> None:
    InviteRequest.update(
        email=chain.pseudonym(key, invite.email),
        invitee_key=chain.pseudonym(key, invite.invitee_key) if invite.invitee_key else None,
        requester=chain.pseudonym(key, invite.requester),
        username=chain.pseudonym(key, invite.username) if invite.username else None,
        first_name="", last_name="", contact_number="", reason="", erased_at=now,
    ).where(InviteRequest.id == invite.id).execute()
    entries = HistoryEntry.select(HistoryEntry.id, HistoryEntry.details, HistoryEntry.actor_ref).where(
        HistoryEntry.request_id == invite.id)
    for entry in entries:
        public, _ = chain.split_details(entry.details)
        HistoryEntry.update(actor=entry.actor_ref, note="", details=public, salt=None).where(
            HistoryEntry.id == entry.id).execute()
    history.append(invite.id, ERASURE_EVENT, actor="system", at=now, from_state=invite.state, to_state=invite.state,
                   details={"retention_days": days})


def due(days: int, now: dt.datetime) -> peewee.ModelSelect:
    """Requests closed before the retention period and not erased yet, whose history is all linked."""
    cutoff = now - dt.timedelta(days=days)
    unlinked = HistoryEntry.select(HistoryEntry.request_id).where(HistoryEntry.chain_seq.is_null())
    return (InviteRequest.select()
            .where(InviteRequest.state.in_(sorted(lifecycle.FINISHED)) & (InviteRequest.updated_at < cutoff)
                   & InviteRequest.erased_at.is_null() & InviteRequest.id.not_in(unlinked))
            .order_by(InviteRequest.updated_at))


def erase_expired(days: int, signer: Signer, now: dt.datetime | None = None) -> int:
    """Erase what RETENTION_DAYS says is due; return how many requests were erased."""
    if days <= 0:
        return 0
    now = now or utcnow()
    key = signer.pseudonym_key()
    cutoff = now - dt.timedelta(days=days)
    erased = 0
    _secure_delete()
    while True:
        with database.atomic():
            invites = list(due(days, now).limit(BATCH))
            for invite in invites:
                _erase_request(invite, key, days, now)
            if not invites:
                _delete_copies(cutoff)
        erased += len(invites)
        if not invites:
            break
    if erased:
        log.info("personal data erased", extra={"requests": erased, "retention_days": days})
        compact()
    return erased


def _delete_copies(cutoff: dt.datetime) -> None:
    """Delete the other places the same personal data sits once its purpose is served."""
    outbox = outbox_model(database)
    outbox.delete().where(outbox.published_at.is_null(False) & (outbox.published_at < cutoff)).execute()
    IdempotencyKey.delete().where(IdempotencyKey.created_at < cutoff).execute()
    old_drafts = BatchDraft.select(BatchDraft.id).where((BatchDraft.status == DraftStatus.SUBMITTED) & (BatchDraft.submitted_at < cutoff))
    BatchRow.delete().where(BatchRow.draft.in_(old_drafts)).execute()
    BatchRemoval.delete().where(BatchRemoval.draft.in_(old_drafts)).execute()


def _is_sqlite() -> bool:
    return isinstance(database.obj, peewee.SqliteDatabase)


def _secure_delete() -> None:
    if _is_sqlite():
        # freed space is overwritten with zeros instead of keeping the old bytes
        database.execute_sql("PRAGMA secure_delete = ON")


def compact() -> None:
    """Rewrite storage so erased values do not linger in free space or the write-ahead log."""
    if _is_sqlite():
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        database.execute_sql("VACUUM")
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        for table in ERASED_TABLES:
            database.execute_sql(f"VACUUM {table}")

