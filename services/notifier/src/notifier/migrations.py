"""Notifier's schema, as numbered migrations: append new ones, never edit or reorder applied ones."""
from __future__ import annotations

import peewee
from playhouse.migrate import SchemaMigrator

from invite_common.consumer import handled_message_model
from invite_common.db import UTCDateTimeField
from invite_common.outbox import outbox_model


def create_tables(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Create the delivery log, and the outbox and handled-message tables."""

    # Declared here as it was at this migration, not imported from the live model, so later
    # model changes (and the migrations that go with them) never alter it.
    class Delivery(peewee.Model):
        request_id = peewee.CharField(max_length=64)
        template = peewee.CharField(max_length=64)
        send_key = peewee.CharField(max_length=100)
        recipient_domain = peewee.CharField(max_length=253, default="")
        smtp_message_id = peewee.CharField(max_length=320, null=True)
        status = peewee.CharField(max_length=16, index=True)
        attempts = peewee.IntegerField(default=0)
        error = peewee.TextField(default="")
        sent_at = UTCDateTimeField(null=True)
        created_at = UTCDateTimeField()

        class Meta:
            database = db
            table_name = "delivery"
            indexes = ((("request_id", "template", "send_key"), True),)

    db.create_tables([Delivery, outbox_model(db), handled_message_model(db)])


MIGRATIONS = [create_tables]
