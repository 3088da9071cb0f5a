"""Throwaway databases for a run, made through tests.support.backing, and counts read from them."""
from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bench.support.phase import Cleanup
from tests.support import backing


@dataclass
class Database:
    """A throwaway database for one purpose: a SQLite file in the run's folder, or a PostgreSQL database."""

    kind: str
    url: str
    admin_url: str | None = None

    def drop(self) -> None:
        if self.kind == "postgresql" and self.admin_url:
            backing.drop_postgres_database(self.admin_url, self.url)


def make_database(kind: str, folder: Path, name: str, admin_url: str | None, cleanup: Cleanup) -> Database:
    """A new database of `kind`, dropped by `cleanup`."""
    if kind == "sqlite":
        return Database("sqlite", f"sqlite:///{folder / (name + '.db')}")
    db = Database("postgresql", backing.create_postgres_database(admin_url), admin_url)
    cleanup.push(db.drop)
    return db


def count_rows(db: Database, sql: str) -> int:
    """Run a COUNT query on one of the run's databases."""
    if db.kind == "sqlite":
        conn = sqlite3.connect(db.url[len("sqlite:///"):], timeout=10)
        try:
            return conn.execute(sql).fetchone()[0]
        finally:
            conn.close()
    import psycopg2

    conn = psycopg2.connect(db.url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0]
    finally:
        conn.close()


@contextlib.contextmanager
def throwaway_postgres():
    """The URL of a new PostgreSQL database, dropped on leaving; None when no server answers.

    The server is BENCH_DATABASE_URL's (an admin URL) when set, else the one the tests use."""
    admin = os.environ.get("BENCH_DATABASE_URL") or backing.find_postgres().url
    if not admin:
        yield None
        return
    url = backing.create_postgres_database(admin)
    try:
        yield url
    finally:
        backing.drop_postgres_database(admin, url)
        backing.stop_containers()
