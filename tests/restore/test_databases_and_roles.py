"""deploy/postgres/roles.sql on a real PostgreSQL server: each service's database, a runtime role that
reads and writes rows and nothing more, a migration role that owns the schema; run twice, it changes
nothing but the passwords (deploy/README.md, "Databases and roles")."""
from __future__ import annotations

import psycopg2
import pytest

from tests.restore.databases import SERVICES, admin, migrate, rows

DDL = ("CREATE TABLE intruder (id int)", "CREATE TEMP TABLE intruder (id int)",
       'ALTER TABLE "handled_message" ADD COLUMN intruder int', 'DROP TABLE "handled_message"',
       'TRUNCATE "handled_message"', 'CREATE INDEX intruder ON "handled_message" (consumer)')


def assert_only_reads_and_writes(url: str, owner: str) -> None:
    """The runtime role reads and writes every table, and can neither change nor own any of it."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'")
        tables = cur.fetchall()
        assert tables and {o for _, o in tables} == {owner}
        for table, _ in tables:
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE"):
                cur.execute("SELECT has_table_privilege(current_user, %s, %s)", (f'public."{table}"', privilege))
                assert cur.fetchone()[0], (table, privilege)
        cur.execute("INSERT INTO handled_message (consumer, message_id, handled_at) VALUES ('t', 'm', now())")
        cur.execute("UPDATE handled_message SET consumer = 'u' WHERE message_id = 'm'")
        cur.execute("DELETE FROM handled_message WHERE message_id = 'm'")
        assert cur.rowcount == 1
        for ddl in DDL:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute(ddl)
    conn.close()


def assert_refused(url: str) -> None:
    with pytest.raises(psycopg2.OperationalError, match="permission denied for database"):
        psycopg2.connect(url).close()


def test_each_runtime_role_reads_and_writes_its_own_tables_and_nothing_else(database_sets, tmp_path):
    databases = database_sets()
    done = databases.create()
    assert done.returncode == 0, done.stderr
    migrate(databases, tmp_path)
    for service in SERVICES:
        assert_only_reads_and_writes(databases.runtime_url(service), databases.migration_role(service))
        for other in SERVICES:
            if other != service:
                assert_refused(databases.url(other, databases.runtime_role(service)))
                assert_refused(databases.url(other, databases.migration_role(service)))
    with admin(databases.admin_url) as cur:
        cur.execute("SELECT rolname, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname LIKE %s",
                    (f"%{databases.role_suffix}",))
        made = cur.fetchall()
    assert len(made) == 6 and not any(flag for _, *flags in made for flag in flags)


def test_running_the_script_again_changes_only_the_passwords(database_sets, tmp_path):
    databases = database_sets()
    assert databases.create().returncode == 0
    migrate(databases, tmp_path)
    password_hashes = "SELECT rolname, rolpassword FROM pg_authid WHERE rolname LIKE '%{}' ORDER BY 1"
    before = rows(databases.admin_url, password_hashes.format(databases.role_suffix))
    again = databases.create()
    assert again.returncode == 0, again.stderr
    assert "CREATE ROLE" not in again.stdout and "CREATE DATABASE" not in again.stdout
    after = rows(databases.admin_url, password_hashes.format(databases.role_suffix))
    assert [r[0] for r in after] == [r[0] for r in before]
    assert all(b[1] != a[1] for b, a in zip(before, after))
    for service in SERVICES:
        assert_only_reads_and_writes(databases.runtime_url(service), databases.migration_role(service))
    # and the migration step after it finds nothing to do
    migrate(databases, tmp_path)


def test_a_second_set_of_databases_beside_the_first_uses_the_same_roles(database_sets, tmp_path):
    first = database_sets()
    assert first.create().returncode == 0
    beside = database_sets(role_suffix=first.role_suffix)
    beside.passwords = first.passwords
    assert beside.create().returncode == 0
    migrate(beside, tmp_path)
    assert_only_reads_and_writes(beside.runtime_url("intake"), first.migration_role("intake"))
    # the first set is untouched: the migration step ran on the second alone
    assert rows(first.migration_url("intake"), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]


@pytest.mark.parametrize("bad", ["x'y", "Upper", "a-b", "a b"])
def test_a_suffix_that_would_need_quoting_is_refused_before_anything_is_made(database_sets, bad):
    databases = database_sets(role_suffix=bad)
    done = databases.create()
    assert done.returncode != 0
    assert "may hold only lower-case letters, digits and underscores" in done.stderr
    with admin(databases.admin_url) as cur:
        cur.execute("SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s)",
                    ([databases.runtime_role(s) for s in SERVICES] + [databases.migration_role(s) for s in SERVICES],))
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT count(*) FROM pg_database WHERE datname = ANY(%s)", ([databases.database(s) for s in SERVICES],))
        assert cur.fetchone()[0] == 0
