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
