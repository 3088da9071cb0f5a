"""Sets of the three services' databases and roles made by the shipped deploy/postgres/roles.sql on
the test server, under names of their own (suffixes), dropped again afterwards; and the commands an
operator runs against them (migrate, backup.py, audit verify)."""
from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

PROJECT = Path(__file__).resolve().parents[2]
ROLES_SQL = PROJECT / "deploy" / "postgres" / "roles.sql"
BACKUP = PROJECT / "deploy" / "backup.py"
SERVICES = ("intake", "approval", "notifier")


@dataclass
class DatabaseSet:
    """One run of roles.sql: `<service><database_suffix>` databases, `<service><role_suffix>` and
    `<service>_migrator<role_suffix>` roles."""

    admin_url: str
    database_suffix: str
    role_suffix: str
    passwords: dict[str, str] = field(default_factory=dict)

    def database(self, service: str) -> str:
        return f"{service}{self.database_suffix}"

    def runtime_role(self, service: str) -> str:
        return f"{service}{self.role_suffix}"

    def migration_role(self, service: str) -> str:
        return f"{service}_migrator{self.role_suffix}"

    def url(self, service: str, role: str, database: str | None = None) -> str:
        parts = urlsplit(self.admin_url)
        netloc = f"{role}:{self.passwords.get(role, 'x')}@{parts.hostname}:{parts.port or 5432}"
        return urlunsplit((parts.scheme, netloc, f"/{database or self.database(service)}", "", ""))

    def runtime_url(self, service: str) -> str:
        return self.url(service, self.runtime_role(service))

    def migration_url(self, service: str) -> str:
        return self.url(service, self.migration_role(service))

    def env(self) -> dict[str, str]:
        """The variables the migration step (and backup.py) reads: both URLs of each service."""
        return {name: value for s in SERVICES for name, value in (
            (f"{s.upper()}_DB_URL", self.runtime_url(s)), (f"{s.upper()}_MIGRATION_DB_URL", self.migration_url(s)))}

    def create(self, *extra: str) -> subprocess.CompletedProcess:
        """Run roles.sql as the server's superuser, with fresh passwords (as an operator would)."""
        variables = []
        for service in SERVICES:
            for role, variable in ((self.runtime_role(service), f"{service}_password"),
                                   (self.migration_role(service), f"{service}_migrator_password")):
                self.passwords[role] = secrets.token_hex(12)
                variables += ["-v", f"{variable}={self.passwords[role]}"]
        parts = urlsplit(self.admin_url)
        return subprocess.run(
            ["psql", "-X", "-q", "-h", parts.hostname, "-p", str(parts.port or 5432), "-U", parts.username or "postgres",
             "-d", parts.path.lstrip("/") or "postgres", "-v", "ON_ERROR_STOP=1",
             "-v", f"database_suffix={self.database_suffix}", "-v", f"role_suffix={self.role_suffix}",
             *variables, *extra, "-f", str(ROLES_SQL)],
            capture_output=True, text=True, timeout=60)

    def drop_databases(self) -> None:
        with admin(self.admin_url) as cur:
            for service in SERVICES:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.database(service)}" WITH (FORCE)')

    def drop_roles(self) -> None:
        with admin(self.admin_url) as cur:
            for service in SERVICES:
                for role in (self.runtime_role(service), self.migration_role(service)):
                    cur.execute(f'DROP ROLE IF EXISTS "{role}"')


@contextlib.contextmanager
def admin(url: str):
    """An autocommit cursor as the server's superuser."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        yield conn.cursor()
    finally:
        conn.close()


def suffix() -> str:
    return f"_t{secrets.token_hex(5)}"


def command(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a Python command (`-m intake migrate`, backup.py …) with only the variables given."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "INVITES_VAR_DIR": str(cwd / "var"), "LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, *args], env=base | env, capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def migrate(databases: DatabaseSet, cwd: Path) -> None:
    """The migration step: each service's `migrate` as its migration role, granting its runtime role."""
    for service in SERVICES:
        done = command(["-m", service, "migrate"], databases.env(), cwd)
        assert done.returncode == 0, done.stderr


def rows(url: str, sql: str) -> list[tuple]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()
