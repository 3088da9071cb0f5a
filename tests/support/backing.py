"""Find the real RabbitMQ and PostgreSQL the tests run against, and make throwaway spaces in them.

Order of preference: an explicit TEST_AMQP_URL / TEST_DATABASE_URL; a server on the default
local port; a testcontainers container when a Docker engine answers; otherwise a skip that
says why.
"""
from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from urllib.parse import urlparse, urlunparse

_containers: list = []


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _docker_available() -> bool:
    try:
        import docker  # testcontainers depends on it

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


@dataclass
class Found:
    url: str | None
    why_not: str = ""


def find_amqp() -> Found:
    """Return the broker URL the tests should use, or why there is none."""
    if os.environ.get("TEST_AMQP_URL"):
        return Found(os.environ["TEST_AMQP_URL"])
    if _port_open("127.0.0.1", 5672):
        return Found("amqp://guest:guest@127.0.0.1:5672//")
    if _docker_available():
        from testcontainers.rabbitmq import RabbitMqContainer

        container = RabbitMqContainer("rabbitmq:3.13-alpine").start()
        _containers.append(container)
        host, port = container.get_container_host_ip(), container.get_exposed_port(5672)
        return Found(f"amqp://guest:guest@{host}:{port}//")
    return Found(None, "no TEST_AMQP_URL, nothing on 127.0.0.1:5672 and no Docker engine for testcontainers")


def find_postgres() -> Found:
    """Return an admin URL of a PostgreSQL server the tests may create databases on, or why there is none."""
    if os.environ.get("TEST_DATABASE_URL"):
        return Found(os.environ["TEST_DATABASE_URL"])
    if _port_open("127.0.0.1", 5432):
        return Found("postgresql://postgres@127.0.0.1:5432/postgres")
    if _docker_available():
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16-alpine").start()
        _containers.append(container)
        return Found(container.get_connection_url().replace("postgresql+psycopg2", "postgresql"))
    return Found(None, "no TEST_DATABASE_URL, nothing on 127.0.0.1:5432 and no Docker engine for testcontainers")


def create_postgres_database(admin_url: str) -> str:
    """Create an empty, uniquely named database and return its URL."""
    import psycopg2

    name = f"invites_test_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    parts = urlparse(admin_url)
    return urlunparse(parts._replace(path=f"/{name}"))


def drop_postgres_database(admin_url: str, url: str) -> None:
    """Drop a database made by create_postgres_database, closing whatever still uses it."""
    import psycopg2

    name = urlparse(url).path.lstrip("/")
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


class DatabasePool:
    """Empty PostgreSQL databases for tests, made once and handed out again after use.

    Creating and dropping a database costs PostgreSQL about 0.4 s; emptying one (its connections
    ended, its schema dropped and made again) about 0.02 s. A database comes back empty, owned by
    nobody, exactly as a new one would be.
    """

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.free: list[str] = []
        self.made: list[str] = []

    def acquire(self) -> str:
        if self.free:
            return self.free.pop()
        url = create_postgres_database(self.admin_url)
        self.made.append(url)
        return url

    def release(self, url: str) -> None:
        import psycopg2

        name = urlparse(url).path.lstrip("/")
        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                # whatever the test left connected (a service it stopped uncleanly, a leaked pool)
                cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                            (name,))
        finally:
            conn.close()
        try:
            conn = psycopg2.connect(url)
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public; GRANT ALL ON SCHEMA public TO PUBLIC")
            conn.close()
        except psycopg2.Error:
            # not reusable as it is: drop it, a new one is made when needed
            self.made.remove(url)
            drop_postgres_database(self.admin_url, url)
            return
        self.free.append(url)

    def close(self) -> None:
        for url in self.made:
            drop_postgres_database(self.admin_url, url)
        self.made.clear()
        self.free.clear()


def stop_containers() -> None:
    for container in _containers:
        container.stop()
    _containers.clear()
