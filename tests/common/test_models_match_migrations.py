"""Every service's migrations build exactly the tables its models describe, on SQLite and PostgreSQL.

A migration declares its tables as they were when it was written (a frozen copy of the model),
so only this test notices a model changed without the migration that goes with it.
"""
from __future__ import annotations

import importlib

import peewee
import pytest

from invite_common.db import apply_migrations, connect

pytestmark = pytest.mark.both_databases("each dialect's schema is compared with the models")

SERVICES = ("intake", "approval", "notifier")


def tables_of(service: str) -> list[type[peewee.Model]]:
    """Every table declared in the service's `models` module."""
    models = importlib.import_module(f"{service}.models")
    base = importlib.import_module(f"{service}.db").BaseModel
    return [m for m in vars(models).values() if isinstance(m, type) and issubclass(m, base) and m is not base]


def unique_columns(model: type[peewee.Model]) -> set[tuple[str, ...]]:
    """The column sets the model says are unique, single fields and composite indexes alike."""
    found = {(f.column_name,) for f in model._meta.sorted_fields if f.unique}
    for names, unique in model._meta.indexes:
        if unique:
            found.add(tuple(model._meta.fields[name].column_name for name in names))
    return found


@pytest.fixture(params=SERVICES)
def migrated(request, db_url):
    """(service, database) with the service's migrations applied to a fresh database."""
    service = request.param
    db = connect(db_url)
    apply_migrations(db, importlib.import_module(f"{service}.migrations").MIGRATIONS)
    yield service, db
    db.close()


def test_each_service_declares_the_tables_it_owns():
    assert {s: sorted(m._meta.table_name for m in tables_of(s)) for s in SERVICES} == {
        "intake": ["batch_draft", "batch_removal", "batch_row", "chain_head", "delegation", "digest_run", "history_entry", "idempotency_key", "invite_request",
                   "portal_session", "role_grant", "taken_username"],
        "approval": ["account", "invite_request", "seed_enrolment", "transition"],
        "notifier": ["delivery"],
    }


def test_every_migrated_table_has_exactly_its_models_columns(migrated):
    service, db = migrated
    for model in tables_of(service):
        columns = {c.name for c in db.get_columns(model._meta.table_name)}
        assert columns == {f.column_name for f in model._meta.sorted_fields}, model.__name__


def test_every_migrated_table_enforces_its_models_unique_columns(migrated):
    service, db = migrated
    for model in tables_of(service):
        unique = {tuple(i.columns) for i in db.get_indexes(model._meta.table_name) if i.unique}
        assert unique >= unique_columns(model), model.__name__


def test_the_outbox_and_handled_message_tables_are_created(migrated):
    _, db = migrated
    assert {"outbox_message", "handled_message"} <= set(db.get_tables())


def test_applying_migrations_again_changes_nothing(migrated):
    service, db = migrated
    assert apply_migrations(db, importlib.import_module(f"{service}.migrations").MIGRATIONS) == 0
