"""Intake's migration to person keys fills the requests and batch rows already stored, on SQLite and PostgreSQL."""
import datetime as dt
import json

from intake import settings as intake_settings
from invite_common.db import apply_migrations, connect
from invite_common.outbox import Outbox
from invite_common.topology import Topology
from intake.app import create_app
from intake.db import database
from intake.migrations import MIGRATIONS
from intake.models import BatchDraft, BatchRow, InviteRequest, RoleGrant
from tests.support.callers import as_user
import pytest

pytestmark = pytest.mark.both_databases("a migration backfills in SQL")

BEFORE_PERSON_KEYS = 6  # the migrations applied before it
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)


def stored_request(request_id: str, email: str, *, state: str = "submitted", minutes: int = 0) -> dict:
    """A request as the previous version stored it: open_email is its address while open, and no key."""
    at = T0 + dt.timedelta(minutes=minutes)
    return dict(id=request_id, method="email_invitation", email=email, user_type="public_officer", reason="r",
                requester="amy@tech.gov.sg", state=state, open_email=email if state == "submitted" else None,
                created_at=at, updated_at=at)


def test_requests_and_batch_rows_stored_before_are_keyed_by_person(db_url, tmp_path):
    db = connect(db_url)
    database.initialize(db)
    try:
        apply_migrations(db, MIGRATIONS[:BEFORE_PERSON_KEYS])
        with database.atomic():
            for row in (stored_request("jane-tagged", "jane+x@tech.gov.sg"),
                        stored_request("jane", "jane@tech.gov.sg", minutes=1),
                        stored_request("kim-a", "kim+a@tech.gov.sg"),
                        stored_request("kim-b", "kim+b@tech.gov.sg", minutes=1),
                        stored_request("lee", "lee+x@tech.gov.sg", state="emailed"),
                        stored_request("zoe", "zoe@tech.gov.sg")):
                InviteRequest.insert(**row).execute()
            for draft, status in (("d-open", "draft"), ("d-sent", "submitted")):
                BatchDraft.insert(id=draft, requester="amy@tech.gov.sg", filename="b.csv", status=status,
                                  created_at=T0).execute()
            rows = [("d-open", 2, "max+1@tech.gov.sg", "{}"), ("d-open", 3, "max@tech.gov.sg", "{}"),
                    ("d-open", 4, "ned@tech.gov.sg", '{"reason":["Enter a reason."]}'),
                    ("d-sent", 2, "nia+1@tech.gov.sg", "{}")]
            for draft, number, key, errors in rows:
                BatchRow.insert(draft=draft, row=number, fields="{}", errors=errors, duplicates="{}",
                                has_errors=errors != "{}", email_key=key).execute()

        assert apply_migrations(db, MIGRATIONS) == len(MIGRATIONS) - BEFORE_PERSON_KEYS

        with database.atomic():
            keyed = {r.id: (r.invitee_key, r.open_email) for r in InviteRequest.select()}
            batch = {(r.draft_id, r.row): (r.email_key, json.loads(r.duplicates), r.has_errors) for r in BatchRow.select()}
        assert keyed == {
            # the untagged request holds the person's key; the tagged one keeps its address until it closes
            "jane-tagged": ("jane@tech.gov.sg", "jane+x@tech.gov.sg"), "jane": ("jane@tech.gov.sg", "jane@tech.gov.sg"),
            # no untagged one: the oldest holds it
            "kim-a": ("kim@tech.gov.sg", "kim@tech.gov.sg"), "kim-b": ("kim@tech.gov.sg", "kim+b@tech.gov.sg"),
            "lee": ("lee@tech.gov.sg", None), "zoe": ("zoe@tech.gov.sg", "zoe@tech.gov.sg"),
        }
        assert batch == {
            ("d-open", 2): ("max@tech.gov.sg", {"email": [3]}, True), ("d-open", 3): ("max@tech.gov.sg", {"email": [2]}, True),
            ("d-open", 4): ("ned@tech.gov.sg", {}, True), ("d-sent", 2): ("nia@tech.gov.sg", {}, False),
        }

        with database.atomic():
            RoleGrant.create(role="approver", email="dana@tech.gov.sg")  # an approver is told which request clashes
        settings = intake_settings.load({"INVITES_VAR_DIR": str(tmp_path / "var")})
        dana = as_user(create_app(settings, Outbox(database, Topology())).test_client(), "dana@tech.gov.sg")
        body = {"method": "email_invitation", "seed_onboarding": False, "reason": "New joiner"}
        for email, status, existing in (("kim+c@tech.gov.sg", 409, "kim-a"), ("lee@tech.gov.sg", 409, "lee"),
                                        ("zoe+1@tech.gov.sg", 409, "zoe"), ("max@tech.gov.sg", 201, None)):
            answer = dana("POST", "/api/v1/invites", json=body | {"email": email})
            assert answer.status_code == status, (email, answer.get_json())
            assert answer.get_json().get("existing_id") == existing
    finally:
        db.close()
        database.initialize(None)
