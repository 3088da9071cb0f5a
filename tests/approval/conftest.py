"""Approval's tests run against real databases: the migrated schema on SQLite and on PostgreSQL."""
from __future__ import annotations

import pytest
from invite_common.db import apply_migrations, connect

from approval.db import database
from approval.migrations import MIGRATIONS


@pytest.fixture
def approval_db(db_url):
    """Approval's database, migrated and bound for the test, closed and unbound afterwards."""
    db = connect(db_url)
    database.initialize(db)
    apply_migrations(db, MIGRATIONS)
    yield db
    if not db.is_closed():
        db.close()
    database.initialize(None)
