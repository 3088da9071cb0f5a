"""Notifier's migrations: they build the tables the models expect, and run once."""
from __future__ import annotations

from invite_common.db import apply_migrations

from notifier.models import Delivery
from notifier.migrations import MIGRATIONS


def test_the_migrated_delivery_table_has_exactly_the_models_columns(notifier_db):
    migrated = {column.name for column in notifier_db.get_columns("delivery")}
    assert migrated == {field.column_name for field in Delivery._meta.sorted_fields}


def test_a_send_has_at_most_one_delivery_row(notifier_db):
    unique = {tuple(index.columns) for index in notifier_db.get_indexes("delivery") if index.unique}
    assert ("request_id", "template", "send_key") in unique


def test_the_outbox_and_handled_message_tables_are_created(notifier_db):
    assert {"outbox_message", "handled_message"} <= set(notifier_db.get_tables())


def test_applying_migrations_again_changes_nothing(notifier_db):
    assert apply_migrations(notifier_db, MIGRATIONS) == 0
