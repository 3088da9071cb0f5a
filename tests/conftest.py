"""What is real in these tests: RabbitMQ, PostgreSQL and SQLite, an SMTP server (aiosmtpd)
and the services as processes. Nothing here fakes the broker or the database; fakes only
stand in for things outside a service's boundary.

The rules of the suite (tests/test_suite_rules.py holds the tree to them):

- Every test gets its kind from what it uses, never by hand: `browser` (Chromium: tests/browser, the
  rehearsal's journey), `e2e` (the services as processes: tests/e2e, tests/replicas, tests/production,
  tests/restore), `broker` (RabbitMQ: the amqp_url fixture, through any other), `db` (a database:
  db_url, db_kind or PostgreSQL's own fixtures), and `unit` for none of those. `make test-fast` runs
  the unit tests alone, and a unit test that reaches for the broker, PostgreSQL or an SQLite database
  fails.
- A database test runs on SQLite unless its database matters: then it is marked
  `both_databases("why")` (on the test or the module) and runs on SQLite and on PostgreSQL. The
  database matters where SQL does the work: migrations, locks and claims, unique constraints, the
  outbox, date arithmetic, case-insensitive lookups, filters and cursors. A test about PostgreSQL
  alone is marked `postgresql_only("why")`.
- Fixture names are unique across the tree, so a name means one thing wherever a test asks for it.
- Helpers live in tests/support (or a suite's own helper module); no test imports from a conftest.
"""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.support import backing

DATABASES = ("sqlite", "postgresql")
PROCESS_SUITES = ("e2e", "replicas", "production", "restore")
BROWSER_FIXTURES = {"browser", "page", "context", "rehearsal_browser", "new_page"}
BROKER_FIXTURES = {"amqp_url", "broker_vhost", "topology"}
DB_FIXTURES = {"db_url", "db_kind", "postgres_admin_url", "postgres_databases"}
# the ports a unit test may not reach: RabbitMQ (AMQP, AMQPS, management) and PostgreSQL
SERVER_PORTS = {5672, 5671, 15672, 5432}


def pytest_configure(config):
    for kind, meaning in [
        ("unit", "no database, broker or browser: make test-fast"),
        ("db", "uses a database (SQLite, or PostgreSQL too when marked both_databases)"),
        ("broker", "uses RabbitMQ"),
        ("browser", "drives Chromium"),
        ("e2e", "runs the services as processes"),
        ("both_databases(why)", "runs on SQLite and on PostgreSQL, because the database matters here (say why)"),
        ("postgresql_only(why)", "runs on PostgreSQL alone (say why)"),
    ]:
        config.addinivalue_line("markers", f"{kind}: {meaning}")


def _kinds_of(item) -> set[str]:
    """A test's kinds, from its folder and every fixture it uses (directly or through others)."""
    used = set(getattr(item, "fixturenames", ()))
    suite = Path(str(item.fspath)).relative_to(Path(__file__).parent).parts[0]
    found = set()
    if used & BROWSER_FIXTURES or suite == "browser":
        found.add("browser")
    if suite in PROCESS_SUITES or suite == "browser":
        found.add("e2e")
    if used & BROKER_FIXTURES:
        found.add("broker")
    if used & DB_FIXTURES or item.get_closest_marker("both_databases") or item.get_closest_marker("postgresql_only"):
        found.add("db")
    return found or {"unit"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for kind in _kinds_of(item):
            item.add_marker(getattr(pytest.mark, kind))


def pytest_generate_tests(metafunc):
    if "db_kind" not in metafunc.fixturenames:
        return
    choices = {"both_databases": DATABASES, "postgresql_only": DATABASES[1:]}
    kinds = DATABASES[:1]
    # the closest choice wins: a test's own mark over its module's
    marker = next((m for m in metafunc.definition.iter_markers() if m.name in choices), None)
    if marker is not None:
        if not (marker.args and str(marker.args[0]).strip()):
            raise pytest.UsageError(f"{metafunc.definition.nodeid}: {marker.name} needs the reason the database matters")
        kinds = choices[marker.name]
    metafunc.parametrize("db_kind", kinds, indirect=True, scope="function")


@pytest.fixture(autouse=True)
def _unit_tests_stay_off_the_servers(request, monkeypatch):
    """A unit test that connects to the broker or PostgreSQL, or opens an SQLite database, fails, so
    `make test-fast` stays what it says (tests/test_unit_guard.py proves each refusal)."""
    if request.node.get_closest_marker("unit") is None:
        return
    import peewee
    import psycopg2

    def refuse(what: str):
        raise AssertionError(f"a unit test opened {what}: take the db_url or amqp_url fixture, which mark it")

    connect = socket.socket.connect

    def guarded(sock, address):
        if isinstance(address, tuple) and len(address) >= 2 and address[1] in SERVER_PORTS:
            refuse(f"a connection to {address}")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    # libpq opens its own sockets, out of Python's sight
    monkeypatch.setattr(psycopg2, "connect", lambda *args, **kwargs: refuse("PostgreSQL"))
    monkeypatch.setattr(peewee.SqliteDatabase, "_connect", lambda self, *args, **kwargs: refuse(f"SQLite ({self.database})"))


@pytest.fixture(scope="session")
def amqp_url():
    found = backing.find_amqp()
    if not found.url:
        pytest.skip(found.why_not)
    return found.url


@pytest.fixture(scope="session")
def postgres_admin_url():
    found = backing.find_postgres()
    if not found.url:
        pytest.skip(found.why_not)
    return found.url


@pytest.fixture(scope="session")
def postgres_databases(postgres_admin_url):
    """Empty PostgreSQL databases, reused from test to test (emptied in between)."""
    pool = backing.DatabasePool(postgres_admin_url)
    yield pool
    pool.close()


@pytest.fixture
def db_kind(request):
    """"sqlite" or "postgresql": which database the test runs on (see the rules above)."""
    return request.param


@pytest.fixture
def db_url(db_kind, request, tmp_path):
    """A throwaway database URL on the test's database (SQLite, or both when marked both_databases)."""
    if db_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    pool = request.getfixturevalue("postgres_databases")
    url = pool.acquire()
    yield url
    pool.release(url)


@pytest.fixture
def mailbox():
    """A real SMTP server (aiosmtpd) on a loopback port of its own."""
    from tests.support.mailbox import Mailbox

    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def scim():
    """A real SCIM 2.0 directory (scim2-server) on a loopback port of its own."""
    from tests.support.scim import ScimServer

    server = ScimServer().start()
    yield server
    server.stop()


def pytest_sessionfinish(session, exitstatus):
    backing.stop_containers()


@pytest.fixture(scope="session")
def broker_vhost(amqp_url):
    """A vhost of this run's own with the shipped broker users and permissions loaded (tests/support/vhost.py)."""
    from tests.support.vhost import load_vhost

    yield from load_vhost(amqp_url)


@pytest.fixture
def topology(amqp_url):
    """A broker namespace of this test's own, with short retry delays; deleted afterwards."""
    import uuid

    from invite_common.topology import Topology
    from tests.support.broker import delete_namespace

    topo = Topology(namespace=f"t{uuid.uuid4().hex[:10]}", retry_delays=(0.2, 0.4))
    yield topo
    delete_namespace(amqp_url, topo)
