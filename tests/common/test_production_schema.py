"""In production the schema is the migration step's business: a service never changes it on start and
stops naming what is missing; `migrate` runs as a role of its own and leaves the service's role able
to read and write every table, and unable to create or alter any (real PostgreSQL roles)."""
from __future__ import annotations

import subprocess
import sys
import uuid
from urllib.parse import urlparse, urlunparse

import psycopg2
import pytest

SERVICES = ("intake", "approval", "notifier")


def run(args: list[str], env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "INVITES_VAR_DIR": str(tmp_path / "var"), "LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "-m", *args], env=base | env, capture_output=True, text=True, timeout=120)


def as_role(url: str, role: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}"))


@pytest.fixture
def roles(postgres_admin_url):
    """A database owned by a migration role, and a runtime role with nothing but CONNECT on it."""
    suffix = uuid.uuid4().hex[:10]
    owner, runtime, name = f"mig_{suffix}", f"run_{suffix}", f"invites_roles_{suffix}"
    admin = psycopg2.connect(postgres_admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE ROLE "{owner}" LOGIN')
        cur.execute(f'CREATE ROLE "{runtime}" LOGIN')
        cur.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
    database = urlunparse(urlparse(postgres_admin_url)._replace(path=f"/{name}"))
    with psycopg2.connect(as_role(database, owner)) as conn, conn.cursor() as cur:
        # the schema is the migration role's; nobody else may create in it (PostgreSQL 15's default)
        cur.execute(f'ALTER SCHEMA public OWNER TO "{owner}"')
        cur.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    conn.close()
    yield {"migration": as_role(database, owner), "runtime": as_role(database, runtime)}
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'DROP ROLE IF EXISTS "{runtime}"')
        cur.execute(f'DROP ROLE IF EXISTS "{owner}"')
    admin.close()


PRODUCTION = {"ENV": "production", "AMQP_URL": "amqp://invites:s3cret@127.0.0.1:1//",
              "PORTAL_URL": "https://invites.example.gov.sg", "SMTP_URL": "smtps://invites:s3cret@127.0.0.1:1"}


def production(service: str, tmp_path) -> dict[str, str]:
    """What a service needs to pass its own production checks, up to its database."""
    if service != "intake":
        return PRODUCTION
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = tmp_path / "signing-key.pem"
    key.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return PRODUCTION | {
        "AUTH_MODE": "oidc", "OIDC_ISSUER": "https://login.example.gov.sg", "OIDC_CLIENT_ID": "invite-users",
        "OIDC_CLIENT_SECRET": "s3cret-from-the-provider", "OIDC_AUDIENCE": "invite-users-api",
        "SECRET_KEY": "k3Yp9-Qm2vXz7Lw4Rt8Nb6Hc1Jd5Fg0Ps-Ue", "AUDIT_SIGNING_KEY": str(key),
    }


@pytest.mark.parametrize("service", SERVICES)
def test_a_production_service_with_migrations_pending_stops_naming_them_and_changes_nothing(service, roles, tmp_path):
    done = run([service], production(service, tmp_path) | {f"{service.upper()}_DB_URL": roles["migration"]}, tmp_path)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{service}'s database schema is not up to date: migrations 1 (")
    assert f"run `python -m {service} migrate`" in last
    with psycopg2.connect(roles["migration"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert cur.fetchone()[0] == 0
    conn.close()


@pytest.mark.parametrize("service", SERVICES)
def test_migrate_runs_as_its_own_role_and_the_service_role_may_only_read_and_write(service, roles, tmp_path):
    env = production(service, tmp_path) | {f"{service.upper()}_DB_URL": roles["runtime"], f"{service.upper()}_MIGRATION_DB_URL": roles["migration"]}
    done = run([service, "migrate"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    conn = psycopg2.connect(roles["runtime"])
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migration'")
        tables = [row[0] for row in cur.fetchall()]
        assert tables
        for table in tables:
            cur.execute(f'SELECT * FROM "{table}" LIMIT 1')
            for privilege in ("INSERT", "UPDATE", "DELETE"):
                cur.execute("SELECT has_table_privilege(current_user, %s, %s)", (f'public."{table}"', privilege))
                assert cur.fetchone()[0], (table, privilege)
        for ddl in ("CREATE TABLE intruder (id int)", f'ALTER TABLE "{tables[0]}" ADD COLUMN intruder int',
                    f'DROP TABLE "{tables[0]}"'):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute(ddl)
    conn.close()
    # with everything applied, the service's own role starts past the schema check (then needs its broker)
    again = run([service, "migrate"], env, tmp_path)
    assert again.returncode == 0 and "(0 migrations applied)" in again.stdout
