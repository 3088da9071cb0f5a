"""Open a service's database from its URL, and apply its migrations in order."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Callable, Sequence

import peewee
from playhouse import db_url
from playhouse.migrate import PostgresqlMigrator, SchemaMigrator, SqliteMigrator

log = logging.getLogger(__name__)

# WAL lets readers run beside the writer, and the busy timeout makes concurrent writers wait
# instead of failing at once; the default journal halves throughput and locks under load.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 10000,
    "foreign_keys": 1,
    "synchronous": "normal",
}


class UTCDateTimeField(peewee.DateTimeField):
    """A moment in time: stored as naive UTC, always read back as an aware UTC datetime."""

    # PostgreSQL's `timestamp` would shift an aware value into the session's time zone and
    # SQLite keeps whatever text it is given; naive UTC reads back the same on both.
    def db_value(self, value):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value):
        value = super().python_value(value)
        if isinstance(value, dt.datetime):
            return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)
        return value


def utcnow() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return dt.datetime.now(dt.timezone.utc)


class WriterQueueSqliteDatabase(peewee.SqliteDatabase):
    """SQLite whose transactions queue on a lock in this process before asking for the file lock.

    SQLite's busy handler sleeps and polls, so writers of one process waiting for each other lose
    most of their time asleep; a lock released at commit wakes the next one at once. Writers in
    other processes still meet at SQLite's own lock, with the busy timeout.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._writer = threading.Lock()
        self._holder = threading.local()

    def begin(self, *args, **kwargs):
        self._writer.acquire()
        self._holder.held = True
        try:
            super().begin(*args, **kwargs)
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        if getattr(self._holder, "held", False):
            self._holder.held = False
            self._writer.release()

    def commit(self):
        try:
            return super().commit()
        finally:
            self._release()

    def rollback(self):
        try:
            return super().rollback()
        finally:
            self._release()

    def _close(self, conn):
        # a connection closed mid-transaction ends that transaction
        self._release()
        return super()._close(conn)


class PostgresDatabase(peewee.PostgresqlDatabase):
    """PostgreSQL whose BEGIN travels with the transaction's first statement.

    peewee sends BEGIN on its own, a round trip to the server per transaction that costs both
    sides about as much as a short statement; here it is held until the transaction's first
    statement and sent in the same message ("BEGIN; <statement>"). A transaction that ran no
    statement sends neither BEGIN nor COMMIT. A cursor asked for directly (to run a statement
    peewee does not see) gets the BEGIN sent first.
    """

    def init(self, *args, **kwargs):
        super().init(*args, **kwargs)
        self._deferred = threading.local()

    def _pending_begin(self) -> str | None:
        statement = getattr(self._deferred, "begin", None)
        self._deferred.begin = None
        return statement

    def begin(self, isolation_level=None):
        if self.is_closed():
            self.connect()
        level = self._isolation_level if isolation_level is None else isolation_level
        self._deferred.begin = (f"BEGIN TRANSACTION ISOLATION LEVEL {self._adapter.isolation_level_str(level)}"
                                if level else "BEGIN")

    def _execute_cursor(self, sql, params, **cursor_options):
        begin = self._pending_begin()
        if begin is not None:
            sql = f"{begin}; {sql}"
        return super()._execute_cursor(sql, params, **cursor_options)

    def cursor(self, named_cursor=None):
        begin = self._pending_begin()
        if begin is not None:
            super().cursor().execute(begin)
        return super().cursor()

    def commit(self):
        if self._pending_begin() is None:
            super().commit()

    def rollback(self):
        if self._pending_begin() is None:
            super().rollback()

    def _close(self, conn):
        self._deferred.begin = None
        return super()._close(conn)


def connect(url: str) -> peewee.Database:
    """Return a peewee database for `url` (sqlite:///path or postgresql://...)."""
    if url.startswith("sqlite"):
        # IMMEDIATE: a transaction takes the write lock when it begins, so one that reads and
        # then writes waits its turn instead of failing when another writer got in between
        path = url.split(":///", 1)[1] if ":///" in url else ":memory:"
        db = WriterQueueSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10, lock_type="IMMEDIATE")
    elif url.startswith(("postgresql", "postgres")):
        db = PostgresDatabase(**db_url.parse(url.replace("postgres://", "postgresql://", 1)))
    else:
        raise ValueError(f"unsupported database URL scheme: {url.split(':', 1)[0]}")
    return db


class SchemaNotReady(SystemExit):
    """The database lacks migrations this version needs, and the service may not apply them itself.

    A SystemExit, so the service stops at start with the message alone, as for a setting."""

    def __init__(self, service: str, pending: list[tuple[int, str]]):
        listed = ", ".join(f"{number} ({name})" for number, name in pending)
        super().__init__(f"{service}'s database schema is not up to date: migrations {listed} are pending; "
                         f"run `python -m {service} migrate` (the deployment's migration step) first")
        self.pending = pending


def open_database(url: str, proxy: peewee.DatabaseProxy, migrations: Sequence["Migration"], *,
                  migrate: bool = True, service: str = "the service") -> peewee.Database:
    """Connect to a service's database and bind its models' proxy to it; apply the migrations it
    lacks, or, with `migrate=False` (production), only check that none is pending (SchemaNotReady)."""
    from invite_common.config import ensure_sqlite_dir

    ensure_sqlite_dir(url)
    db = connect(url)
    proxy.initialize(db)
    if migrate:
        # only when something is pending: a schema already up to date is not touched, so a role
        # that may not create tables (the runtime role of deploy/postgres/roles.sql) starts too
        if pending_migrations(db, migrations):
            apply_migrations(db, migrations)
    else:
        missing = pending_migrations(db, migrations)
        db.close()
        if missing:
            raise SchemaNotReady(service, missing)
    return db


def pending_migrations(db: peewee.Database, migrations: Sequence["Migration"]) -> list[tuple[int, str]]:
    """The migrations not yet applied to `db`, as (number, name), read without changing anything."""
    with db.bind_ctx([SchemaMigration]):
        applied = ({m.number for m in SchemaMigration.select(SchemaMigration.number)}
                   if db.table_exists(SchemaMigration._meta.table_name) else set())
    return [(number, getattr(m, "__name__", str(number))) for number, m in enumerate(migrations, start=1)
            if number not in applied]


def grant_runtime_role(db: peewee.Database, role: str) -> None:
    """Let the runtime role read and write every table and sequence of the schema, and nothing more.

    The migration role owns the schema; the services run as a role that cannot create or alter
    tables, so these grants are all it gets, given again after each migration (new tables)."""
    if not isinstance(db, peewee.PostgresqlDatabase):
        return
    quoted = '"' + role.replace('"', '""') + '"'
    with db.atomic():
        schema = db.execute_sql("SELECT current_schema()").fetchone()[0]
        target = '"' + schema.replace('"', '""') + '"'
        db.execute_sql(f"GRANT USAGE ON SCHEMA {target} TO {quoted}")
        db.execute_sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {target} TO {quoted}")
        db.execute_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {target} TO {quoted}")


def for_update(query: peewee.Select) -> peewee.Select:
    """Lock the selected rows until the transaction ends where the database can (PostgreSQL);
    SQLite needs no row lock, its transactions already hold the write lock from their start."""
    db = query.model._meta.database
    if isinstance(getattr(db, "obj", db), peewee.PostgresqlDatabase):
        return query.for_update()
    return query


def migrator_for(db: peewee.Database) -> SchemaMigrator:
    """Return peewee's schema migrator for the kind of database `db` is."""
    if isinstance(db, peewee.PostgresqlDatabase):
        return PostgresqlMigrator(db)
    return SqliteMigrator(db)


Migration = Callable[[peewee.Database, SchemaMigrator], None]


class SchemaMigration(peewee.Model):
    """Which numbered migrations a service's database has had applied."""

    number = peewee.IntegerField(primary_key=True)
    name = peewee.CharField()
    applied_at = UTCDateTimeField()

    class Meta:
        table_name = "schema_migration"


# Any constant serves: it names the lock every process migrating a database takes.
_MIGRATION_LOCK = 7_341_062


def apply_migrations(db: peewee.Database, migrations: Sequence[Migration]) -> int:
    """Apply, in order, each migration not yet recorded; return how many ran.

    Migration N is `migrations[N - 1]`; append new ones, never edit or reorder applied ones.
    Replicas starting together take turns on a PostgreSQL advisory lock, so each migration runs
    once; on SQLite the file's write lock does the same for each migration's transaction.
    """
    postgres = isinstance(db, peewee.PostgresqlDatabase)
    with db.bind_ctx([SchemaMigration]):
        if postgres:
            db.execute_sql("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            return _apply_pending(db, migrations)
        finally:
            if postgres:
                db.execute_sql("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))


def _apply_pending(db: peewee.Database, migrations: Sequence[Migration]) -> int:
    db.create_tables([SchemaMigration], safe=True)
    ran = 0
    for number, migration in enumerate(migrations, start=1):
        with db.atomic():
            # read inside the transaction: another SQLite process may have applied it meanwhile
            if SchemaMigration.get_or_none(SchemaMigration.number == number) is not None:
                continue
            migration(db, migrator_for(db))
            SchemaMigration.create(
                number=number,
                name=getattr(migration, "__name__", str(number)),
                applied_at=dt.datetime.now(dt.timezone.utc),
            )
        log.info("applied migration", extra={"migration": number})
        ran += 1
    return ran
