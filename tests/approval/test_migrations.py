"""Approval's migrations: they build the tables the models expect, and run once."""
from __future__ import annotations

import pytest
from invite_common.db import apply_migrations

from approval.migrations import MIGRATIONS
from approval.models import Account, SeedEnrolment


@pytest.mark.parametrize("model", [Account, SeedEnrolment])
def test_migrated_tables_have_exactly_the_models_columns(approval_db, model):
    migrated = {column.name for column in approval_db.get_columns(model._meta.table_name)}
    assert migrated == {field.column_name for field in model._meta.sorted_fields}


@pytest.mark.parametrize("model,unique", [
    (Account, {("username_key",), ("request_id",)}),
    (SeedEnrolment, {("request_id",), ("code",)}),
])
def test_migrated_tables_enforce_the_models_unique_columns(approval_db, model, unique):
    indexes = approval_db.get_indexes(model._meta.table_name)
    assert {tuple(index.columns) for index in indexes if index.unique} >= unique


def test_applying_migrations_again_changes_nothing(approval_db):
    assert apply_migrations(approval_db, MIGRATIONS) == 0
