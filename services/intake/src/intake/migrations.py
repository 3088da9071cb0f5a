"""Intake's schema, as numbered migrations: append new ones, never edit or reorder applied ones."""
from __future__ import annotations

import peewee
from playhouse.migrate import SchemaMigrator


def create_tables(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Create requests, history, roles, taken usernames, idempotency keys, outbox and handled messages."""
    from invite_common.consumer import handled_message_model
    from invite_common.outbox import outbox_model

    from intake.models import HistoryEntry, IdempotencyKey, InviteRequest, RoleGrant, TakenUsername

    with db.bind_ctx([InviteRequest, HistoryEntry, RoleGrant, TakenUsername, IdempotencyKey]):
        db.create_tables([InviteRequest, HistoryEntry, RoleGrant, TakenUsername, IdempotencyKey])
    db.create_tables([outbox_model(db), handled_message_model(db)])


MIGRATIONS = [create_tables]
