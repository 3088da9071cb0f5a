"""End-to-end fixtures: the three services as processes, real RabbitMQ, real databases, a real SMTP server."""
from __future__ import annotations

import time
import uuid
from urllib.parse import urlparse

import pytest
from tests.support.broker import delete_namespace

from invite_common.topology import Topology
from tests.support.proxy import CuttableProxy
from tests.support.system import SERVICES, RunningSystem, system_env

RETRY_DELAYS = (0.2, 0.4, 0.8)


@pytest.fixture
def namespace(amqp_url):
    """A broker namespace of this test's own, deleted afterwards."""
    ns = f"e{uuid.uuid4().hex[:10]}"
    yield ns
    delete_namespace(amqp_url, Topology(namespace=ns, retry_delays=RETRY_DELAYS))


def _databases(kind: str, tmp_path, request) -> dict[str, str]:
    if kind == "sqlite":
        return {s: f"sqlite:///{tmp_path / (s + '.db')}" for s in SERVICES}
    pool = request.getfixturevalue("postgres_databases")
    urls = {s: pool.acquire() for s in SERVICES}
    request.addfinalizer(lambda: [pool.release(u) for u in urls.values()])
    return urls


def _make_system(request, tmp_path, amqp_url, namespace, mailbox, kind="sqlite", **extra) -> RunningSystem:
    env = system_env(
        amqp_url=amqp_url,
        namespace=namespace,
        db_urls=_databases(kind, tmp_path, request),
        smtp_url=mailbox.url,
        var_dir=tmp_path / "var",
        RETRY_DELAYS=",".join(str(d) for d in RETRY_DELAYS),
        **extra,
    )
    system = RunningSystem(env=env, logs=tmp_path)
    request.addfinalizer(system.stop)
    return system


@pytest.fixture(params=["sqlite", "postgresql"])
def system(request, tmp_path, amqp_url, namespace, mailbox):
    """All three services running on SQLite, then on PostgreSQL."""
    s = _make_system(request, tmp_path, amqp_url, namespace, mailbox, request.param)
    s.start()
    return s


@pytest.fixture
def sqlite_system(request, tmp_path, amqp_url, namespace, mailbox):
    """All three services running on SQLite (for tests about the broker and SMTP, not the database)."""
    s = _make_system(request, tmp_path, amqp_url, namespace, mailbox)
    s.start()
    return s


@pytest.fixture
def notifying_system(request, tmp_path, amqp_url, namespace, mailbox):
    """All three services on SQLite, emailing each requester once their invitation is out."""
    s = _make_system(request, tmp_path, amqp_url, namespace, mailbox, NOTIFY_REQUESTER_WHEN_SENT="true")
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
    s = _make_system(request, tmp_path, amqp_url, namespace, mailbox)
    parts = urlparse(amqp_url)
    proxied = parts._replace(netloc=f"{parts.username or 'guest'}:{parts.password or 'guest'}@127.0.0.1:{broker_proxy.port}").geturl()
    s.start("approval", "notifier")
    s.env = dict(s.env, AMQP_URL=proxied)
    s.start("intake")
    return s


def wait_for_state(system: RunningSystem, invite_id: str, state: str, user: str = "carol@tech.gov.sg", timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = system.invite(invite_id, user)
        if last.get("state") == state:
            return last
        time.sleep(0.1)
    raise AssertionError(
        f"request {invite_id} never reached {state}; last seen: {last}\n"
        + "\n".join(f"--- {n}\n{system.log(n)[-2500:]}" for n in SERVICES)
    )
