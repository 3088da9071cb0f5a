"""The shared library's tests: a bare database (no service's schema) where a test makes its own tables."""
from __future__ import annotations

import pytest

from invite_common.db import connect


@pytest.fixture
def peewee_db(db_url):
    """A connected database with no tables, closed afterwards."""
    db = connect(db_url)
    yield db
    db.close()
