"""Two processes of each worker on real RabbitMQ and PostgreSQL, provisioning into a real SCIM
directory, while 500 requests flow and one replica of each worker is killed midway.

What must hold: every request reaches `emailed` (in approval and in intake's read model), every
invitee gets one invitation (a replica killed between the SMTP answer and its commit may make the
survivor send it again, with the same Message-ID), and no request is provisioned twice (one
`provision` transition each, one directory user each).

Slow by nature (one to four minutes here, with the machine's load), so it runs with `make test-replicas`, not `make test`.
"""
from __future__ import annotations

import collections
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
import requests

from invite_common.topology import Topology
from tests.support import backing
from tests.support.broker import delete_namespace
from tests.support.system import RunningSystem, SERVICES, system_env

REQUESTS = 500
REQUESTER = "amy@tech.gov.sg"
APPROVER = "bob@tech.gov.sg"
KILL_AFTER_EMAILS = 120

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def databases(postgres_admin_url):
    urls = {s: backing.create_postgres_database(postgres_admin_url) for s in SERVICES}
    yield urls
    for url in urls.values():
        backing.drop_postgres_database(postgres_admin_url, url)


@pytest.fixture
def replica_system(tmp_path, amqp_url, databases, mailbox, scim):
    namespace = f"r{uuid.uuid4().hex[:10]}"
    env = system_env(
        amqp_url=amqp_url, namespace=namespace, db_urls=databases, smtp_url=mailbox.url,
        var_dir=tmp_path / "var", AMQP_QUORUM_QUEUES="true", RETRY_DELAYS="0.5,1,2,4",
        DIRECTORY_URL=scim.url, DIRECTORY_TOKEN=scim.token, DIRECTORY_TIMEOUT="5", LOG_LEVEL="WARNING",
        # one requester sends all 500 in a burst: lift the per-person limits this run is not about
        RATE_LIMIT_SUBMIT="1000000/second", RATE_LIMIT_DECIDE="1000000/second",
        OPEN_REQUESTS_PER_REQUESTER="100000", REQUESTS_PER_DAY_PER_REQUESTER="100000",
    )
    running = RunningSystem(env=env, logs=tmp_path)
    yield running
    running.stop()
    delete_namespace(amqp_url, Topology(namespace=namespace, quorum=True, retry_delays=(0.5, 1, 2, 4)))


def count(db_url: str, sql: str) -> int:
    with psycopg2.connect(db_url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def submit_all(replica_system: RunningSystem) -> list[str]:
    session = requests.Session()

    def submit(n: int) -> str:
        body = {"method": "email_invitation", "email": f"invitee{n:04d}@tech.gov.sg",
                "seed_onboarding": n % 5 == 0, "reason": "Joining the platform team"}
        response = session.post(f"{replica_system.base}/api/v1/invites", json=body, headers={"X-Dev-User": REQUESTER}, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(submit, range(REQUESTS)))


def approve_all(replica_system: RunningSystem, ids: list[str]) -> None:
    for start in range(0, len(ids), 100):
        decisions = [{"id": i, "decision": "approve", "comment": "ok"} for i in ids[start:start + 100]]
        response = requests.post(f"{replica_system.base}/api/v1/approvals/decisions", json={"decisions": decisions},
                                 headers={"X-Dev-User": APPROVER}, timeout=60)
        assert response.status_code == 200, response.text
        assert {r["status"] for r in response.json()["results"]} == {202}


def wait_until(predicate, timeout: float, what: str, replica_system: RunningSystem) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    logs = "\n".join(f"--- {name}\n{replica_system.log(name)[-2000:]}" for name in sorted(replica_system.procs))
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def test_two_replicas_of_each_worker_deliver_every_request_once_though_one_of_each_is_killed(
        replica_system, databases, mailbox, scim):
    replica_system.start("intake")
    workers = [replica_system.start_replica(service, n) for service in ("approval", "notifier") for n in (1, 2)]
    for name in workers:
        replica_system.wait_ready(name, timeout=60)

    started = time.monotonic()
    ids = submit_all(replica_system)
    approve_all(replica_system, ids)

    wait_until(lambda: len(mailbox.messages) >= KILL_AFTER_EMAILS, 180, "the first invitations", replica_system)
    replica_system.kill("approval-1")
    replica_system.kill("notifier-1")
    in_flight = REQUESTS - count(databases["approval"], "SELECT count(*) FROM invite_request WHERE state = 'emailed'")
    assert in_flight > 0, "everything was done before the replicas were killed: the test proved nothing"

    emailed = "SELECT count(*) FROM invite_request WHERE state = 'emailed'"
    wait_until(lambda: count(databases["approval"], emailed) == REQUESTS, 300, "every request emailed", replica_system)
    wait_until(lambda: count(databases["intake"], emailed) == REQUESTS, 60, "intake to hear of every email", replica_system)
    elapsed = time.monotonic() - started
    print(f"{REQUESTS} requests emailed in {elapsed:.1f}s; {in_flight} were not yet emailed at the kill")

    # one invitation per invitee; a repeat only as the same message sent again
    by_invitee = collections.defaultdict(list)
    for message in mailbox.messages:
        by_invitee[message["X-Envelope-To"]].append(message["Message-ID"])
    assert len(by_invitee) == REQUESTS
    repeats = {to: ids for to, ids in by_invitee.items() if len(ids) > 1}
    assert all(len(set(ids)) == 1 and len(ids) == 2 for ids in repeats.values()), repeats
    print(f"invitations sent again after the kill, with their first Message-ID: {len(repeats)}")

    # provisioned once each: one transition, one directory user, one POST to the directory
    assert count(databases["approval"], "SELECT count(*) FROM transition WHERE verb = 'provision'") == REQUESTS
    assert count(databases["approval"],
                 "SELECT count(*) FROM (SELECT request_id FROM transition WHERE verb = 'provision' "
                 "GROUP BY request_id HAVING count(*) > 1) AS twice") == 0
    users = scim.users
    assert len(users) == REQUESTS
    assert sorted(u["externalId"] for u in users) == sorted(ids)
    assert scim.creates() == REQUESTS

    # the survivors are still healthy
    for name in ("approval-2", "notifier-2"):
        assert requests.get(f"http://{replica_system.binds[name]}/readyz", timeout=5).status_code == 200
