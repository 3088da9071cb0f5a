"""Quotas hold when one requester's submissions arrive at the same moment: two intake processes
(waitress, eight threads each) on one real database, SQLite and PostgreSQL, and client threads
released together by a barrier."""
from __future__ import annotations

import io
import threading
import uuid

import psycopg2
import pytest
import requests

from invite_common.topology import Topology
from tests.support.spreadsheets import OFFICER_ROW, csv_bytes
from tests.support import backing
from tests.support.broker import delete_namespace
from tests.support.system import RunningSystem, system_env

pytestmark = pytest.mark.both_databases("quotas hold by a per-requester lock that only PostgreSQL takes")

OPEN_QUOTA = 10


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def intakes(request, tmp_path_factory, amqp_url):
    """Two intake processes sharing one database, with at most OPEN_QUOTA open requests a requester."""
    tmp = tmp_path_factory.mktemp("quota")
    if request.param == "postgresql":
        admin = request.getfixturevalue("postgres_admin_url")
        db_url = backing.create_postgres_database(admin)
        request.addfinalizer(lambda: backing.drop_postgres_database(admin, db_url))
    else:
        db_url = f"sqlite:///{tmp / 'intake.db'}"
    namespace = f"q{uuid.uuid4().hex[:10]}"
    env = system_env(
        amqp_url=amqp_url, namespace=namespace,
        db_urls={"intake": db_url, "approval": f"sqlite:///{tmp / 'approval.db'}", "notifier": f"sqlite:///{tmp / 'notifier.db'}"},
        smtp_url="smtp://127.0.0.1:9", var_dir=tmp / "var", LOG_LEVEL="WARNING",
        OPEN_REQUESTS_PER_REQUESTER=str(OPEN_QUOTA),
        # the bursts here are about quotas: rate limits must not be what refuses them
        RATE_LIMIT_SUBMIT="1000/minute", RATE_LIMIT_UPLOAD="1000/minute", RATE_LIMIT_BATCH_SUBMIT="1000/minute",
    )
    system = RunningSystem(env=env, logs=tmp)
    try:
        system.start("intake")
        replica = system.start_replica("intake", 1)
        system.wait_ready(replica)
        yield system, [system.base, f"http://{system.binds[replica]}"], db_url
    finally:
        system.stop()
        delete_namespace(amqp_url, Topology(namespace=namespace))


def at_once(calls: list) -> list[requests.Response]:
    """Run every call in a thread of its own, released together; return the responses in order."""
    barrier = threading.Barrier(len(calls))
    responses: list = [None] * len(calls)

    def run(n, call):
        session = requests.Session()
        barrier.wait()
        responses[n] = call(session)

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return responses


def stored_requests(db_url: str, requester: str) -> int:
    if db_url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(db_url.split(":///", 1)[1]) as conn:
            return conn.execute("SELECT count(*) FROM invite_request WHERE requester = ?", (requester,)).fetchone()[0]
    with psycopg2.connect(db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM invite_request WHERE requester = %s", (requester,))
        return cur.fetchone()[0]


def test_simultaneous_submissions_by_one_requester_stop_exactly_at_the_open_requests_quota(intakes):
    system, bases, db_url = intakes
    requester = f"amy.{uuid.uuid4().hex[:8]}@tech.gov.sg"

    def submit(n):
        body = {"method": "email_invitation", "email": f"person{n}.{uuid.uuid4().hex[:6]}@tech.gov.sg",
                "seed_onboarding": False, "reason": "Joining the team"}
        return lambda session: session.post(f"{bases[n % 2]}/api/v1/invites", json=body,
                                            headers={"X-Dev-User": requester}, timeout=60)

    statuses = sorted(r.status_code for r in at_once([submit(n) for n in range(25)]))
    assert statuses == [201] * OPEN_QUOTA + [429] * 15, statuses
    assert stored_requests(db_url, requester) == OPEN_QUOTA


def test_simultaneous_batch_submissions_by_one_requester_never_pass_the_open_requests_quota(intakes):
    system, bases, db_url = intakes
    requester = f"ben.{uuid.uuid4().hex[:8]}@tech.gov.sg"
    drafts = []
    for n in range(5):
        rows = [OFFICER_ROW | {"email": f"b{n}r{r}.{uuid.uuid4().hex[:6]}@tech.gov.sg"} for r in range(5)]
        response = requests.post(f"{bases[n % 2]}/api/v1/batches", headers={"X-Dev-User": requester},
                                 files={"file": ("requests.csv", io.BytesIO(csv_bytes(rows)))}, timeout=30)
        assert response.status_code == 201, response.text
        drafts.append(response.json()["id"])

    def submit(n):
        return lambda session: session.post(f"{bases[n % 2]}/api/v1/batches/{drafts[n]}/submit",
                                            headers={"X-Dev-User": requester}, timeout=60)

    statuses = sorted(r.status_code for r in at_once([submit(n) for n in range(5)]))
    # five batches of five against a quota of ten: exactly two fit, whichever they are
    assert statuses == [201, 201, 429, 429, 429], statuses
    assert stored_requests(db_url, requester) == OPEN_QUOTA
