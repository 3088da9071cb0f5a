"""Intake's migration to approval levels: requests waiting from before levels wait in the one level every request
passed then, decided by any approver; closed ones have no level; the stand-ins' table is made."""
import datetime as dt
import json

import pytest

from intake import settings as intake_settings
from intake.app import create_app
from intake.db import database
from intake.migrations import MIGRATIONS
from intake.models import Delegation, InviteRequest, RoleGrant
from invite_common.db import apply_migrations, connect
from invite_common.outbox import Outbox
from invite_common.topology import Topology
from tests.support.callers import as_user

pytestmark = pytest.mark.both_databases("a migration adds columns and fills them in SQL")

BEFORE_LEVELS = MIGRATIONS.index(next(m for m in MIGRATIONS if m.__name__ == "record_levels_and_delegations"))
WAITING, SENT, LATE = ("7d1b6a2e-0000-4000-8000-000000000001", "7d1b6a2e-0000-4000-8000-000000000002",
                       "7d1b6a2e-0000-4000-8000-000000000003")
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)
COLUMNS = ("id", "method", "email", "user_type", "reason", "requester", "state", "state_seq", "invitee_key",
           "open_email", "first_name", "last_name", "contact_number", "organisation", "department",
           "seed_onboarding", "offshore", "created_at", "updated_at")


def insert_as_before(db, request_id: str, email: str, state: str, minutes: int) -> None:
    """A request as the previous version stored it: no level columns (written in SQL, as the model has them now)."""
    at = (T0 + dt.timedelta(minutes=minutes)).replace(tzinfo=None)
    values = (request_id, "email_invitation", email, "public_officer", "r", "amy@tech.gov.sg", state, 0, email,
              email if state == "submitted" else None, "", "", "", "", "", False, False, at, at)
    names = ", ".join(f'"{c}"' for c in COLUMNS)
    db.execute_sql(f'INSERT INTO "invite_request" ({names}) VALUES ({", ".join([db.param] * len(COLUMNS))})', values)


def test_requests_waiting_before_levels_wait_in_the_approval_level_for_any_approver(db_url, tmp_path):
    db = connect(db_url)
    database.initialize(db)
    try:
        apply_migrations(db, MIGRATIONS[:BEFORE_LEVELS])
        with database.atomic():
            insert_as_before(db, WAITING, "jane@tech.gov.sg", "submitted", 0)
            insert_as_before(db, SENT, "lee@tech.gov.sg", "emailed", 1)

        assert apply_migrations(db, MIGRATIONS) == len(MIGRATIONS) - BEFORE_LEVELS

        with database.atomic():
            found = {r.id: (r.level, r.level_role, r.level_agency, r.level_since, r.deciders, r.assignee)
                     for r in InviteRequest.select()}
            assert Delegation.select().count() == 0
        # the queues read their own level's waiting requests through an index of their own (the next migration)
        assert "invite_request_waiting_by_level" in {i.name for i in db.get_indexes("invite_request")}
        assert found == {WAITING: ("approval", "approver", None, T0, "", None),
                         SENT: (None, None, None, None, "", None)}

        with database.atomic():
            RoleGrant.create(role="approver", email="bob@tech.gov.sg")
        settings = intake_settings.load({"INVITES_VAR_DIR": str(tmp_path / "var")})
        outbox = Outbox(database, Topology())
        bob = as_user(create_app(settings, outbox).test_client(), "bob@tech.gov.sg")
        assert [i["id"] for i in bob("GET", "/api/v1/approvals").get_json()["items"]] == [WAITING]
        assert bob("POST", f"/api/v1/invites/{WAITING}/approve", json={}).status_code == 202
        [decide] = [json.loads(r.body)["payload"] for r in outbox.pending() if r.message_type == "approval.decide"]
        assert decide["level"] == "approval" and "on_behalf_of" not in decide
        # a request inserted by the version before levels (no deciders column in its insert) gets the default
        with database.atomic():
            insert_as_before(db, LATE, "kim@tech.gov.sg", "submitted", 2)
            assert InviteRequest.get_by_id(LATE).deciders == ""
    finally:
        db.close()
        database.initialize(None)
