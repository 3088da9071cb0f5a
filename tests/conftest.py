"""What is real in these tests: RabbitMQ, PostgreSQL and SQLite, an SMTP server (aiosmtpd)
and the services as processes. Nothing here fakes the broker or the database; fakes only
stand in for things outside a service's boundary."""
from __future__ import annotations

import pytest

from tests.support import backing


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


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A throwaway database URL; every test that takes it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
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
