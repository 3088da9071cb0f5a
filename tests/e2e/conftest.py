"""End-to-end fixtures: the three services as processes, real RabbitMQ, real databases, a real SMTP server."""
from __future__ import annotations

import uuid
from urllib.parse import urlparse

import pytest

from invite_common.topology import Topology
from tests.support.broker import delete_namespace
from tests.support.proxy import CuttableProxy
from tests.support.system import RETRY_DELAYS, make_system


@pytest.fixture
def namespace(amqp_url):
    """A broker namespace of this test's own, deleted afterwards."""
    ns = f"e{uuid.uuid4().hex[:10]}"
    yield ns
    delete_namespace(amqp_url, Topology(namespace=ns, retry_delays=RETRY_DELAYS))


@pytest.fixture
def system(request, db_kind, tmp_path, amqp_url, namespace, mailbox):
    """All three services running, on SQLite (and on PostgreSQL when the test is marked both_databases)."""
    s = make_system(request, tmp_path, amqp_url, namespace, mailbox, db_kind)
    s.start()
    return s


@pytest.fixture
def notifying_system(request, tmp_path, amqp_url, namespace, mailbox):
    """All three services on SQLite, emailing each requester once their invitation is out."""
    s = make_system(request, tmp_path, amqp_url, namespace, mailbox, NOTIFY_REQUESTER_WHEN_SENT="true")
    s.start()
    return s


@pytest.fixture
def broker_proxy(amqp_url):
    """A cuttable link to the broker."""
    parts = urlparse(amqp_url)
    proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 5672)
    yield proxy
    proxy.close()


@pytest.fixture
def system_behind_proxy(request, tmp_path, amqp_url, namespace, mailbox, broker_proxy):
    """The services, with intake reaching the broker through a link the test can cut."""
    s = make_system(request, tmp_path, amqp_url, namespace, mailbox)
    parts = urlparse(amqp_url)
    proxied = parts._replace(netloc=f"{parts.username or 'guest'}:{parts.password or 'guest'}@127.0.0.1:{broker_proxy.port}").geturl()
    s.start("approval", "notifier")
    s.env = dict(s.env, AMQP_URL=proxied)
    s.start("intake")
    return s
