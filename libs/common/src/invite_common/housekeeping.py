"""Trimming the message log every service keeps beside its own data.

Each service records the ids of the messages its consumers handled (to recognise a redelivered
copy) and keeps its published outbox rows; both only grow. A redelivered copy arrives within
seconds or minutes of the original (a consumer that died between commit and ack, a relay that
died between publish and mark), so ids older than `MESSAGE_LOG_DAYS` (7) and rows published
longer ago than that are deleted, once an hour. Unpublished outbox rows are never touched.
"""
from __future__ import annotations

import datetime as dt
import logging

import peewee

from invite_common.db import utcnow

log = logging.getLogger(__name__)

TRIM_EVERY = 3600.0
# rows per delete on SQLite, whose single writer would otherwise wait for one long delete
BATCH = 2000


def trim_message_log(database, outbox_model: type[peewee.Model], handled_model: type[peewee.Model], days: int,
                     now: dt.datetime | None = None) -> tuple[int, int]:
    """Delete outbox rows published, and handled ids recorded, more than `days` ago; return how many of each."""
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    published = _delete_older(database, outbox_model, outbox_model.published_at.is_null(False) & (outbox_model.published_at < cutoff))
    handled = _delete_older(database, handled_model, handled_model.handled_at < cutoff)
    if published or handled:
        log.info("message log trimmed", extra={"outbox_rows": published, "handled_ids": handled, "days": days})
    return published, handled


def _delete_older(database, model: type[peewee.Model], condition) -> int:
    db = getattr(database, "obj", database)
    if isinstance(db, peewee.PostgresqlDatabase):
        # other writers never wait for a delete on PostgreSQL: one statement
        with database.atomic():
            return model.delete().where(condition).execute()
    deleted = 0
    rowid = peewee.SQL("rowid")
    while True:
        # the oldest rows come first in rowid order, so each batch's scan ends early
        with database.atomic():
            batch = model.select(rowid).where(condition).order_by(rowid).limit(BATCH)
            count = model.delete().where(rowid.in_(batch)).execute()
        deleted += count
        if count < BATCH:
            return deleted
