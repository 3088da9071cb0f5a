"""Approval's schema, as numbered migrations: append new ones, never edit or reorder applied ones."""
from __future__ import annotations

import peewee
from playhouse.migrate import SchemaMigrator

from invite_common.db import UTCDateTimeField


def create_directory_and_enrolment_tables(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Create the local directory's `account` table and the local enrolments' `seed_enrolment` table."""

    # Tables are declared here as they were at this migration, not imported from the live
    # models, so later model changes (and the migrations that go with them) never alter it.
    class Account(peewee.Model):
        account_id = peewee.UUIDField(primary_key=True)
        username = peewee.CharField(max_length=64)
        username_key = peewee.CharField(max_length=64, unique=True)
        email = peewee.CharField(max_length=320)
        first_name = peewee.CharField()
        last_name = peewee.CharField()
        user_type = peewee.CharField(max_length=32)
        request_id = peewee.CharField(max_length=64, unique=True)
        created_at = UTCDateTimeField()

        class Meta:
            database = db
            table_name = "account"

    class SeedEnrolment(peewee.Model):
        request_id = peewee.CharField(max_length=64, unique=True)
        email = peewee.CharField(max_length=320)
        username = peewee.CharField(max_length=64)
        code = peewee.CharField(max_length=32, unique=True)
        booked_at = UTCDateTimeField()
        expires_at = UTCDateTimeField()

        class Meta:
            database = db
            table_name = "seed_enrolment"

    db.create_tables([Account, SeedEnrolment])


def create_workflow_tables(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Create the requests, their transition log, and the outbox and handled-message tables."""
    from invite_common.consumer import handled_message_model
    from invite_common.outbox import outbox_model

    class InviteRequest(peewee.Model):
        id = peewee.CharField(max_length=64, primary_key=True)
        method = peewee.CharField(max_length=32)
        requester = peewee.CharField(max_length=320)
        email = peewee.CharField(max_length=320)
        user_type = peewee.CharField(max_length=32)
        username = peewee.CharField(max_length=64, null=True)
        first_name = peewee.CharField(default="")
        last_name = peewee.CharField(default="")
        organisation = peewee.CharField(default="")
        seed_onboarding = peewee.BooleanField(default=False)
        offshore = peewee.BooleanField(default=False)
        state = peewee.CharField(max_length=32, index=True)
        failed_from = peewee.CharField(max_length=32, null=True)
        seq = peewee.IntegerField(default=0)
        invitation_sends = peewee.IntegerField(default=0)
        submitted_at = UTCDateTimeField()
        updated_at = UTCDateTimeField()

        class Meta:
            database = db
            table_name = "invite_request"

    class Transition(peewee.Model):
        request = peewee.ForeignKeyField(InviteRequest, on_delete="CASCADE")
        seq = peewee.IntegerField()
        from_state = peewee.CharField(max_length=32, null=True)
        to_state = peewee.CharField(max_length=32)
        verb = peewee.CharField(max_length=32)
        actor = peewee.CharField(max_length=320)
        note = peewee.TextField(default="")
        at = UTCDateTimeField()
        caused_by = peewee.CharField(max_length=36, null=True)

        class Meta:
            database = db
            table_name = "transition"
            indexes = ((("request", "seq"), True),)

    db.create_tables([InviteRequest, Transition, outbox_model(db), handled_message_model(db)])


def add_invitee_department_and_contact_number(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Keep the invitee's department and contact number for the directory's user attributes.

    The default is the database's, not only peewee's: replicas of the previous version, still
    serving during a rollout, insert requests without these columns.
    """
    from playhouse.migrate import migrate

    empty = [peewee.SQL("DEFAULT ''")]
    migrate(
        migrator.add_column("invite_request", "department", peewee.CharField(default="", constraints=empty)),
        migrator.add_column(
            "invite_request", "contact_number", peewee.CharField(max_length=32, default="", constraints=empty)),
    )


def index_accounts_by_email(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Find an account by its email (any case) through an index: provisioning asks before every create,
    and without it each invite read every account."""
    db.execute_sql('CREATE INDEX IF NOT EXISTS "account_email_lower" ON "account" (lower("email"))')


def key_accounts_by_person(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Find the local directory's accounts by person: `amy+x@` and `amy@` are one person, with one account.

    The column may be NULL: replicas of the previous version, still creating accounts during a
    rollout, do not fill it, and the lookup compares their address instead."""
    from playhouse.migrate import migrate

    from invite_common.people import person_key

    migrate(migrator.add_column("account", "person_key", peewee.CharField(max_length=320, null=True)),
            migrator.add_index("account", ("person_key",), False))
    for account_id, email in db.execute_sql('SELECT "account_id", "email" FROM "account"').fetchall():
        db.execute_sql(f'UPDATE "account" SET "person_key" = {db.param} WHERE "account_id" = {db.param}',
                       (person_key(email), account_id))


def record_levels_of_approval(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Keep each request's levels of approval, the one it waits in and who decided the earlier ones.

    The defaults are the database's too: a request of the previous version, or one a replica of it
    inserts during a rollout, passes the one level every request passed then."""
    from playhouse.migrate import migrate

    migrate(
        migrator.add_column("invite_request", "levels",
                            peewee.TextField(default="approval", constraints=[peewee.SQL("DEFAULT 'approval'")])),
        migrator.add_column("invite_request", "level",
                            peewee.IntegerField(default=0, constraints=[peewee.SQL("DEFAULT 0")])),
        migrator.add_column("invite_request", "deciders",
                            peewee.TextField(default="", constraints=[peewee.SQL("DEFAULT ''")])),
    )


MIGRATIONS = [
    create_directory_and_enrolment_tables,
    create_workflow_tables,
    add_invitee_department_and_contact_number,
    index_accounts_by_email,
    key_accounts_by_person,
    record_levels_of_approval,
]
