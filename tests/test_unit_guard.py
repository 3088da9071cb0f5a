"""A unit test cannot reach the broker, PostgreSQL or an SQLite database (tests/conftest.py's guard):
each of these is a unit test, and each would pass its step without the guard."""
from __future__ import annotations

import socket

import peewee
import psycopg2
import pytest


def test_a_unit_test_cannot_connect_to_the_broker():
    with pytest.raises(AssertionError, match="unit test opened a connection"):
        socket.create_connection(("127.0.0.1", 5672), timeout=2)


def test_a_unit_test_cannot_connect_to_postgresql():
    with pytest.raises(AssertionError, match="unit test opened PostgreSQL"):
        psycopg2.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=2)


def test_a_unit_test_cannot_open_an_sqlite_database(tmp_path):
    with pytest.raises(AssertionError, match="unit test opened SQLite"):
        peewee.SqliteDatabase(str(tmp_path / "x.db")).connect()


def test_a_unit_test_may_still_talk_to_its_own_loopback_servers():
    with socket.create_server(("127.0.0.1", 0)) as server, socket.create_connection(server.getsockname(), timeout=2):
        pass
