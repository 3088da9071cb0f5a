"""Intake's schema, as numbered migrations: append new ones, never edit or reorder applied ones."""
from __future__ import annotations

import peewee
from playhouse.migrate import SchemaMigrator


def create_tables(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Create requests, history, roles, taken usernames, idempotency keys, outbox and handled messages."""
    from invite_common.consumer import handled_message_model
    from invite_common.db import UTCDateTimeField
    from invite_common.outbox import outbox_model

    # The tables as they were at this migration, not the live models: later model changes
    # come with migrations of their own and must not alter what this one creates.
    class Base(peewee.Model):
        class Meta:
            database = db

    class InviteRequest(Base):
        id = peewee.CharField(max_length=36, primary_key=True)
        method = peewee.CharField(max_length=32, index=True)
        email = peewee.CharField(max_length=254, index=True)
        user_type = peewee.CharField(max_length=32)
        username = peewee.CharField(max_length=64, null=True)
        first_name = peewee.CharField(max_length=100, default="")
        last_name = peewee.CharField(max_length=100, default="")
        contact_number = peewee.CharField(max_length=20, default="")
        organisation = peewee.CharField(max_length=150, default="")
        department = peewee.CharField(max_length=150, default="")
        seed_onboarding = peewee.BooleanField(default=False)
        offshore = peewee.BooleanField(default=False)
        reason = peewee.TextField()
        requester = peewee.CharField(max_length=254, index=True)
        state = peewee.CharField(max_length=32, index=True, default="submitted")
        state_seq = peewee.IntegerField(default=0)
        pending_action = peewee.CharField(max_length=16, null=True)
        pending_actor = peewee.CharField(max_length=254, null=True)
        open_email = peewee.CharField(max_length=254, null=True, unique=True)
        open_username_key = peewee.CharField(max_length=64, null=True, unique=True)
        batch_id = peewee.CharField(max_length=36, null=True, index=True)
        created_at = UTCDateTimeField(index=True)
        updated_at = UTCDateTimeField()

        class Meta:
            table_name = "invite_request"

    class HistoryEntry(Base):
        id = peewee.AutoField()
        request_id = peewee.CharField(max_length=36, index=True)
        event = peewee.CharField(max_length=32)
        from_state = peewee.CharField(max_length=32, null=True)
        to_state = peewee.CharField(max_length=32, null=True)
        actor = peewee.CharField(max_length=254)
        note = peewee.TextField(default="")
        details = peewee.TextField(default="{}")
        at = UTCDateTimeField()
        source_seq = peewee.IntegerField(null=True)
        message_id = peewee.CharField(max_length=36, null=True)
        prev_hash = peewee.CharField(max_length=64)
        hash = peewee.CharField(max_length=64, unique=True)

        class Meta:
            table_name = "history_entry"
            indexes = ((("request_id", "source_seq"), True),)

    class RoleGrant(Base):
        email = peewee.CharField(max_length=254)
        role = peewee.CharField(max_length=32)
        granted_at = UTCDateTimeField()
        granted_by = peewee.CharField(max_length=254, default="ROLE_GRANTS")

        class Meta:
            table_name = "role_grant"
            indexes = ((("email", "role"), True),)

    class TakenUsername(Base):
        username_key = peewee.CharField(max_length=64, primary_key=True)
        request_id = peewee.CharField(max_length=36)

        class Meta:
            table_name = "taken_username"

    class IdempotencyKey(Base):
        requester = peewee.CharField(max_length=254)
        key = peewee.CharField(max_length=200)
        fingerprint = peewee.CharField(max_length=64)
        request_id = peewee.CharField(max_length=36)
        created_at = UTCDateTimeField()

        class Meta:
            table_name = "idempotency_key"
            primary_key = peewee.CompositeKey("requester", "key")

    db.create_tables([InviteRequest, HistoryEntry, RoleGrant, TakenUsername, IdempotencyKey])
    db.create_tables([outbox_model(db), handled_message_model(db)])


def create_batch_tables(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Create batch drafts and their rows, as they were when batch upload was added."""
    from invite_common.db import UTCDateTimeField

    class BatchDraft(peewee.Model):
        id = peewee.CharField(max_length=36, primary_key=True)
        requester = peewee.CharField(max_length=254, index=True)
        filename = peewee.CharField(max_length=255)
        created_at = UTCDateTimeField()
        submitted_at = UTCDateTimeField(null=True)
        status = peewee.CharField(max_length=16, default="draft")
        unknown_columns = peewee.TextField(default="[]")

        class Meta:
            table_name = "batch_draft"

    class BatchRow(peewee.Model):
        id = peewee.AutoField()
        draft = peewee.ForeignKeyField(BatchDraft, on_delete="CASCADE", index=False)
        row = peewee.IntegerField()
        fields = peewee.TextField()
        errors = peewee.TextField(default="{}")
        duplicates = peewee.TextField(default="{}")
        has_errors = peewee.BooleanField(default=False)
        email_key = peewee.CharField(max_length=254, null=True)
        username_key = peewee.CharField(max_length=64, null=True)

        class Meta:
            table_name = "batch_row"
            indexes = ((("draft", "row"), True),)

    with db.bind_ctx([BatchDraft, BatchRow]):
        db.create_tables([BatchDraft, BatchRow])


def create_portal_sessions(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Create the server-side portal sessions, as they were when OpenID Connect sign-in was added."""
    from invite_common.db import UTCDateTimeField

    class PortalSession(peewee.Model):
        id = peewee.CharField(max_length=64, primary_key=True)
        email = peewee.CharField(max_length=254, null=True, index=True)
        data = peewee.TextField(default="{}")
        created_at = UTCDateTimeField()
        last_seen_at = UTCDateTimeField(index=True)

        class Meta:
            table_name = "portal_session"

    with db.bind_ctx([PortalSession]):
        db.create_tables([PortalSession])


def chain_history_off_the_request_path(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Let history entries be appended unchained and linked later, with salted personal digests and signed heads.

    Entries recorded under the earlier scheme (chained inside each request's transaction) are
    unlinked here and linked afresh, in their order, by the history linker."""
    from playhouse.migrate import migrate

    from invite_common.db import UTCDateTimeField

    chain_seq = peewee.BigIntegerField(null=True)
    migrate(
        migrator.add_column("history_entry", "chain_seq", chain_seq),
        migrator.add_column("history_entry", "salt", peewee.CharField(max_length=32, null=True)),
        migrator.add_column("history_entry", "personal_digest", peewee.CharField(max_length=64, null=True)),
        migrator.add_column("history_entry", "actor_ref", peewee.CharField(max_length=40, null=True)),
        migrator.drop_not_null("history_entry", "prev_hash"),
        migrator.drop_not_null("history_entry", "hash"),
        migrator.add_column("invite_request", "erased_at", UTCDateTimeField(null=True)),
    )
    db.execute_sql("UPDATE history_entry SET prev_hash = NULL, hash = NULL")
    migrate(
        migrator.add_index("history_entry", ("chain_seq",), True),
        migrator.add_index("history_entry", ("message_id",), True),
        # auditors read events in time order, a page or an export chunk at a time
        migrator.add_index("history_entry", ("at", "id"), False),
        # auditors search by approver: the requests whose decision entries name them (index-only)
        migrator.add_index("history_entry", ("actor", "event", "request_id"), False),
    )
    if isinstance(db, peewee.PostgresqlDatabase):
        _index_email_substrings(db)

    class ChainHead(peewee.Model):
        seq = peewee.BigIntegerField(primary_key=True)
        hash = peewee.CharField(max_length=64)
        signed_at = UTCDateTimeField()
        key_id = peewee.CharField(max_length=16)
        signature = peewee.CharField(max_length=128)

        class Meta:
            table_name = "chain_head"

    with db.bind_ctx([ChainHead]):
        db.create_tables([ChainHead])


def _index_email_substrings(db: peewee.Database) -> None:
    """Let "invitee email contains" use a trigram index on PostgreSQL when pg_trgm can be enabled."""
    try:
        with db.atomic():  # a savepoint: without the extension the search still works, by scanning
            db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            db.execute_sql("CREATE INDEX IF NOT EXISTS invite_request_email_trgm ON invite_request "
                           "USING gin (email gin_trgm_ops)")
    except peewee.DatabaseError:
        pass


def add_approver_queue_index_and_digests(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Index the approvers' queue (state, then age) and keep a record of the approvers' digests."""
    from playhouse.migrate import migrate

    from invite_common.db import UTCDateTimeField

    class DigestRun(peewee.Model):
        id = peewee.AutoField()
        covered_from = UTCDateTimeField(unique=True)
        covered_until = UTCDateTimeField(index=True)
        new_count = peewee.IntegerField(default=0)
        expiring_count = peewee.IntegerField(default=0)
        emails = peewee.IntegerField(default=0)

        class Meta:
            table_name = "digest_run"

    with db.bind_ctx([DigestRun]):
        db.create_tables([DigestRun])
    migrate(migrator.add_index("invite_request", ("state", "created_at", "id"), False))


def index_the_quota_counts(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Let each submission's two quota counts read only an index, however many requests the requester made.

    Requests by requester and creation time (it serves the requester's own lists too, so the index on
    requester alone goes), and open requests by requester (a partial index: only the open ones)."""
    db.execute_sql('CREATE INDEX IF NOT EXISTS "invite_request_requester_created_at" '
                   'ON "invite_request" ("requester", "created_at")')
    db.execute_sql('CREATE INDEX IF NOT EXISTS "invite_request_open_by_requester" '
                   'ON "invite_request" ("requester") WHERE "open_email" IS NOT NULL')
    db.execute_sql('DROP INDEX IF EXISTS "invite_request_requester"')


def key_invitees_by_person(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Compare invitees as people: `amy+x@` and `amy@` reach one mailbox, so one open request and one account.

    Every request gets its invitee's person key, and an open request's `open_email` becomes that
    key. Stored addresses are already lower-case with IDNA domains, so only those with a `+` in
    them differ from their key. Where one person already has two open requests, a request at the
    address without a tag (else the oldest) holds the key; the others keep their address until they
    close. Batch rows key their email the same way, and drafts not yet submitted have their
    duplicate rows worked out again."""
    import json
    from collections import defaultdict

    from playhouse.migrate import migrate

    from invite_common.people import person_key

    p = db.param
    migrate(migrator.add_column("invite_request", "invitee_key", peewee.CharField(max_length=254, null=True)),
            migrator.add_index("invite_request", ("invitee_key",), False))
    db.execute_sql('UPDATE "invite_request" SET "invitee_key" = "email"')
    tagged = db.execute_sql(f'SELECT "id", "email", "open_email" FROM "invite_request" WHERE "email" LIKE {p} '
                            'ORDER BY "created_at", "id"', ("%+%",)).fetchall()
    for request_id, email, open_email in tagged:
        key = person_key(email)
        db.execute_sql(f'UPDATE "invite_request" SET "invitee_key" = {p} WHERE "id" = {p}', (key, request_id))
        if open_email is not None and not db.execute_sql(
                f'SELECT 1 FROM "invite_request" WHERE "open_email" = {p}', (key,)).fetchone():
            db.execute_sql(f'UPDATE "invite_request" SET "open_email" = {p} WHERE "id" = {p}', (key, request_id))

    tagged_rows = db.execute_sql(f'SELECT "id", "draft_id", "email_key" FROM "batch_row" WHERE "email_key" LIKE {p}',
                                 ("%+%",)).fetchall()
    for row_id, _, email_key in tagged_rows:
        db.execute_sql(f'UPDATE "batch_row" SET "email_key" = {p} WHERE "id" = {p}', (person_key(email_key), row_id))
    for draft in sorted({draft for _, draft, _ in tagged_rows}):
        status = db.execute_sql(f'SELECT "status" FROM "batch_draft" WHERE "id" = {p}', (draft,)).fetchone()
        if status is None or status[0] != "draft":
            continue
        rows = db.execute_sql(f'SELECT "id", "row", "email_key", "errors", "duplicates" FROM "batch_row" '
                              f'WHERE "draft_id" = {p}', (draft,)).fetchall()
        by_key: dict[str, list[int]] = defaultdict(list)
        for _, row, key, _, _ in rows:
            if key:
                by_key[key].append(row)
        for row_id, row, key, errors, duplicates in rows:
            found = {name: rows_ for name, rows_ in json.loads(duplicates).items() if name != "email"}
            others = sorted(r for r in by_key.get(key, []) if r != row) if key else []
            found = {"email": others, **found} if others else found
            db.execute_sql(f'UPDATE "batch_row" SET "duplicates" = {p}, "has_errors" = {p} WHERE "id" = {p}',
                           (json.dumps(found, separators=(",", ":")), errors != "{}" or bool(found), row_id))


def keep_removed_batch_rows(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Keep the rows taken out of a draft, so that taking them out can be undone until the draft is submitted."""
    from invite_common.db import UTCDateTimeField

    class BatchDraft(peewee.Model):
        id = peewee.CharField(max_length=36, primary_key=True)

        class Meta:
            table_name = "batch_draft"

    class BatchRemoval(peewee.Model):
        id = peewee.CharField(max_length=36, primary_key=True)
        draft = peewee.ForeignKeyField(BatchDraft, on_delete="CASCADE")
        created_at = UTCDateTimeField()
        rows = peewee.TextField()
        duplicate_count = peewee.IntegerField(default=0)

        class Meta:
            table_name = "batch_removal"

    with db.bind_ctx([BatchRemoval]):
        db.create_tables([BatchRemoval])


def record_levels_and_delegations(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Keep the level of approval each request waits in and who decides it, and the approvers' stand-ins.

    A request waiting from before levels existed waits in the one level every request passed then,
    decided by any approver."""
    from playhouse.migrate import migrate

    from invite_common.db import UTCDateTimeField

    migrate(
        migrator.add_column("invite_request", "level", peewee.CharField(max_length=32, null=True)),
        migrator.add_column("invite_request", "level_role", peewee.CharField(max_length=32, null=True)),
        migrator.add_column("invite_request", "level_agency", peewee.CharField(max_length=254, null=True)),
        migrator.add_column("invite_request", "level_since", UTCDateTimeField(null=True)),
        migrator.add_column("invite_request", "deciders",
                            peewee.TextField(default="", constraints=[peewee.SQL("DEFAULT ''")])),
        migrator.add_column("invite_request", "assignee", peewee.CharField(max_length=254, null=True)),
        migrator.add_index("invite_request", ("assignee",), False),
    )
    db.execute_sql('UPDATE "invite_request" SET "level" = \'approval\', "level_role" = \'approver\', '
                   '"level_since" = "created_at" WHERE "state" = \'submitted\'')

    class Delegation(peewee.Model):
        id = peewee.CharField(max_length=36, primary_key=True)
        approver = peewee.CharField(max_length=254, index=True)
        stand_in = peewee.CharField(max_length=254, index=True)
        roles = peewee.CharField(max_length=200)
        starts_at = UTCDateTimeField()
        ends_at = UTCDateTimeField()
        created_at = UTCDateTimeField()
        ended_at = UTCDateTimeField(null=True)
        ended_by = peewee.CharField(max_length=254, null=True)

        class Meta:
            table_name = "delegation"

    with db.bind_ctx([Delegation]):
        db.create_tables([Delegation])


def index_the_queues_by_level(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Index the waiting requests by the role and agency that decide them, oldest first: a queue (and its counts)
    then reads only its own level's requests, not every waiting one. Partial, so it holds only waiting requests,
    however many closed ones pile up (both databases take the WHERE)."""
    db.execute_sql('CREATE INDEX IF NOT EXISTS "invite_request_waiting_by_level" ON "invite_request" '
                   '("level_role", "level_agency", "created_at", "id") '
                   'WHERE "state" = \'submitted\' AND "pending_action" IS NULL')


def record_each_requests_levels(db: peewee.Database, migrator: SchemaMigrator) -> None:
    """Keep the levels each request passes, as the policy gave them at submission (approval fixes them then too): a
    policy changed later must not change what a request's page says it passed or has to come."""
    from playhouse.migrate import migrate

    migrate(migrator.add_column("invite_request", "levels", peewee.TextField(null=True)))


MIGRATIONS = [
    create_tables,
    create_batch_tables,
    create_portal_sessions,
    chain_history_off_the_request_path,
    add_approver_queue_index_and_digests,
    index_the_quota_counts,
    key_invitees_by_person,
    keep_removed_batch_rows,
    record_levels_and_delegations,
    index_the_queues_by_level,
    record_each_requests_levels,
]
