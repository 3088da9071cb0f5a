"""Approval's migrations are safe to run while replicas of the previous version still serve."""
from __future__ import annotations

from invite_common.db import apply_migrations

from approval.migrations import MIGRATIONS
import pytest

pytestmark = pytest.mark.both_databases("migrations are DDL, which the two run differently")


def test_the_previous_version_keeps_working_while_the_new_columns_are_added(db_url):
    """A rollout migrates while replicas of the previous version still read and write requests."""
    import datetime as dt

    import peewee
    from invite_common.db import connect

    from approval.models import InviteRequest

    db = connect(db_url)
    try:
        apply_migrations(db, MIGRATIONS[:2])  # the schema the previous version runs on

        class PreviousInviteRequest(peewee.Model):  # the previous version's model: no new columns
            id = peewee.CharField(primary_key=True)
            method = peewee.CharField()
            requester = peewee.CharField()
            email = peewee.CharField()
            user_type = peewee.CharField()
            username = peewee.CharField(null=True)
            first_name = peewee.CharField(default="")
            last_name = peewee.CharField(default="")
            organisation = peewee.CharField(default="")
            seed_onboarding = peewee.BooleanField(default=False)
            offshore = peewee.BooleanField(default=False)
            state = peewee.CharField()
            failed_from = peewee.CharField(null=True)
            seq = peewee.IntegerField(default=0)
            invitation_sends = peewee.IntegerField(default=0)
            submitted_at = peewee.DateTimeField()
            updated_at = peewee.DateTimeField()

            class Meta:
                database = db
                table_name = "invite_request"

        now = dt.datetime(2026, 1, 5, 8, 0)
        row = dict(method="create_account", requester="amy@tech.gov.sg", user_type="vendor", state="submitted",
                   submitted_at=now, updated_at=now)
        PreviousInviteRequest.create(id="before", email="a@vendor.example", **row)
        assert apply_migrations(db, MIGRATIONS) == len(MIGRATIONS) - 2
        PreviousInviteRequest.create(id="during", email="b@vendor.example", **row)
        assert {r.id for r in PreviousInviteRequest.select()} == {"before", "during"}

        with InviteRequest.bind_ctx(db):
            rows = {r.id: r for r in InviteRequest.select()}
        assert (rows["before"].department, rows["during"].contact_number) == ("", "")
    finally:
        db.close()


def test_accounts_made_before_person_keys_and_during_the_rollout_are_found_by_person(db_url):
    """Accounts stored before the migration get their key; one the previous version makes meanwhile
    (without a key) is still found by its address."""
    import datetime as dt
    import uuid

    from invite_common.db import connect

    from approval.adapters.directory import LocalDirectory
    from approval.db import database
    from approval.models import Account

    db = connect(db_url)
    database.initialize(db)
    try:
        apply_migrations(db, MIGRATIONS[:4])  # the schema the previous version runs on
        now = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.timezone.utc)

        def made_by_the_previous_version(request_id, email):
            with database.atomic():
                Account.insert(account_id=uuid.uuid4(), username=request_id, username_key=request_id, email=email,
                               first_name="A", last_name="B", user_type="public_officer", request_id=request_id,
                               created_at=now).execute()

        made_by_the_previous_version("before", "Jane+Old@tech.gov.sg")
        assert apply_migrations(db, MIGRATIONS) == len(MIGRATIONS) - 4
        made_by_the_previous_version("during", "ken@tech.gov.sg")

        directory = LocalDirectory()
        with database.atomic():
            assert Account.get(Account.request_id == "before").person_key == "jane@tech.gov.sg"
            assert directory.find_by_email("jane@tech.gov.sg").request_id == "before"
            assert directory.find_by_email("jane+new@TECH.gov.sg").request_id == "before"
            assert directory.find_by_email("Ken@tech.gov.sg").request_id == "during"
            assert directory.find_by_email("janet@tech.gov.sg") is None
    finally:
        db.close()
        database.initialize(None)


def test_a_request_stored_before_levels_existed_passes_the_one_approval_level_afterwards(db_url):
    """A request waiting when record_levels_of_approval runs (or one a previous replica stores meanwhile)
    passes the one level every request passed before levels: `approval`, decided by any approver."""
    import datetime as dt
    import json

    from invite_common.db import connect
    from invite_common.messages import new_message
    from invite_common.outbox import Outbox
    from invite_common.topology import Topology

    from approval import bootstrap, dispatch
    from approval.adapters.directory import LocalDirectory
    from approval.adapters.enrolment import LocalEnrolment
    from approval.db import database
    from approval.migrations import record_levels_of_approval
    from approval.models import InviteRequest

    before_levels = MIGRATIONS.index(record_levels_of_approval)
    db = connect(db_url)
    database.initialize(db)
    try:
        apply_migrations(db, MIGRATIONS[:before_levels])  # the schema the previous version runs on
        now = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.timezone.utc)

        def stored_by_the_previous_version(request_id, email):
            # the previous version's columns only: no levels, level nor deciders
            with database.atomic():
                db.execute_sql(
                    "INSERT INTO invite_request (id, method, requester, email, user_type, username, first_name, "
                    "last_name, organisation, seed_onboarding, offshore, state, seq, invitation_sends, submitted_at, "
                    "updated_at) VALUES (%s)" % ", ".join([db.param] * 16),
                    (request_id, "create_account", "amy@tech.gov.sg", email, "vendor", request_id, "Vic", "Lim",
                     "Example", False, True, "submitted", 0, 0, now, now))

        stored_by_the_previous_version("before", "vic@vendor.example.com")
        assert apply_migrations(db, MIGRATIONS) == len(MIGRATIONS) - before_levels
        stored_by_the_previous_version("during", "val@vendor.example.com")

        with database.atomic():
            rows = {r.id: (r.levels, r.level, r.deciders) for r in InviteRequest.select()}
        assert rows == {"before": ("approval", 0, ""), "during": ("approval", 0, "")}

        deps = dispatch.Dependencies(outbox=Outbox(database, Topology()), directory=LocalDirectory(),
                                     enrolment=LocalEnrolment(14), activation_url="https://techpass.example/activate",
                                     request_expiry_days=14)
        [decide] = [h for queue in bootstrap.consumers(deps).values() for t, h in queue.items() if t == "approval.decide"]
        for request_id in ("before", "during"):
            decision = new_message("approval.decide", {"request_id": request_id, "decision": "approve",
                                                       "actor": "bob@tech.gov.sg", "level": "approval"},
                                   correlation_id=request_id, producer="test")
            with database.atomic():
                decide(decision)
        with database.atomic():
            assert {r.id: r.state for r in InviteRequest.select()} == {"before": "account_created", "during": "account_created"}
            events = [json.loads(r.body)["payload"] for r in deps.outbox.pending()]
        assert [(e["request_id"], e["verb"], e["details"]) for e in events if "verb" in e] == [
            ("before", "approve", {"level": "approval"}), ("during", "approve", {"level": "approval"})]
    finally:
        db.close()
        database.initialize(None)
