"""Intake on a real database (SQLite and PostgreSQL), its app driven through Flask's test client."""
import pytest

from intake import settings as intake_settings
from invite_common.db import apply_migrations, connect
from invite_common.outbox import Outbox
from invite_common.topology import Topology
from intake.app import create_app
from intake.db import database
from intake.auth.roles import parse_role_grants
from intake.models import RoleGrant
from intake.migrations import MIGRATIONS
from tests.support.callers import as_user


@pytest.fixture
def intake_db(db_url):
    db = connect(db_url)
    database.initialize(db)
    apply_migrations(db, MIGRATIONS)
    yield db
    db.close()
    database.initialize(None)


@pytest.fixture
def outbox(intake_db):
    return Outbox(database, Topology())


@pytest.fixture
def app(intake_db, outbox, tmp_path):
    # INVITES_VAR_DIR: the history's development signing key is made under the test's own folder
    settings = intake_settings.load({"ROLE_GRANTS": "approver:bob@tech.gov.sg,approver:dana@tech.gov.sg,auditor:carol@tech.gov.sg",
                            "INVITES_VAR_DIR": str(tmp_path / "var")})
    # the grants as table rows, without the history entries that applying ROLE_GRANTS at start writes,
    # so a test's history holds only what the test did
    with database.atomic():
        for role, email in parse_role_grants(settings.role_grants):
            RoleGrant.create(role=role, email=email)
    return create_app(settings, outbox)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def amy(client):
    """The requester amy@tech.gov.sg, calling the API."""
    return as_user(client, "amy@tech.gov.sg")


@pytest.fixture
def bob(client):
    """The approver bob@tech.gov.sg, calling the API."""
    return as_user(client, "bob@tech.gov.sg")
