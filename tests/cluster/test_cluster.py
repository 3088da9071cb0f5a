"""The three services on a three-node RabbitMQ cluster with quorum queues, while 200 invitations
flow and two nodes are stopped in turn for 20 s each: first the node holding the most queue
leaders, ended at once as a failed machine would be; then, once it is back, the node holding the
most of the services' connections, stopped as an operator would for maintenance.

What must hold: every accepted invitation is emailed exactly once, except at most one duplicate per
stopped node, which carries the first one's Message-ID (a message whose acknowledgement was lost
with its node is delivered again); nothing is left in any queue, dead-letter queue included; every
service is ready again, on the nodes still up, without a restart.

The nodes are RabbitMQ nodes of the test's own (tests/support/rabbitmq_node.py: own names, ports,
data, configuration and one Erlang cookie, schedulers that do not busy-wait). A few minutes with the
cluster's forming, so it runs with `make test-cluster`, not `make test`.
"""
from __future__ import annotations

import collections
import datetime as dt
import json
import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
import requests

from tests.support import backing
from tests.support.metrics import scrape
from tests.support.rabbitmq_node import RabbitNode, why_not_available
from tests.support.system import SERVICES, RunningSystem, system_env

INVITATIONS = 200
STOPPED_SECONDS = 20
REQUESTER = "amy@tech.gov.sg"
APPROVER = "bob@tech.gov.sg"

pytestmark = pytest.mark.timeout(600)


# --- the cluster ------------------------------------------------------------------------------

@pytest.fixture
def cluster():
    why_not = why_not_available()
    if why_not:
        pytest.skip(why_not)
    cookie, password, run = secrets.token_hex(20), secrets.token_hex(16), uuid.uuid4().hex[:6]
    nodes = [RabbitNode(f"cluster{n}-{run}", cookie=cookie, admin_password=password) for n in range(3)]
    try:
        # the nodes boot side by side (mostly waiting on Erlang), then join the first one by one
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda node: node.start(timeout=120), nodes))
        for node in nodes[1:]:
            node.join(nodes[0])
        members = nodes[0].ctl("eval", "length(rabbit_nodes:all_running()).").stdout.strip()
        assert members == "3", f"the cluster has {members} running nodes, not 3"
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def urls(nodes: list[RabbitNode]) -> str:
    """The services' broker URL: every node, separated by `;`, in the order they were started."""
    return ";".join(node.admin_url() for node in nodes)


def queues(node: RabbitNode, namespace: str) -> dict[str, dict[str, str]]:
    """The namespace's queues as the cluster reports them: type, leader node and messages held."""
    done = node.ctl("list_queues", "name", "type", "leader", "messages", "--no-table-headers", timeout=60)
    found = {}
    for line in done.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and parts[0].startswith(namespace):
            found[parts[0]] = {"type": parts[1], "leader": parts[2], "messages": parts[3]}
    return found


def busiest(counts: collections.Counter, nodes: list[RabbitNode], besides: RabbitNode | None = None) -> RabbitNode:
    by_name = {node.node: node for node in nodes if node is not besides}
    return by_name[max(by_name, key=lambda name: counts.get(name, 0))]


def connections_by_node(nodes: list[RabbitNode]) -> collections.Counter:
    """How many client connections each node serves (its own count, asked of each node)."""
    return collections.Counter({node.node: int(node.ctl("eval", "length(rabbit_networking:connections_local()).").stdout)
                                for node in nodes})


# --- the invitations ----------------------------------------------------------------------------

class Flow(threading.Thread):
    """Submits INVITATIONS email invitations at a steady pace through the API, and approves what was
    accepted every second or so, until all are submitted and approved."""

    def __init__(self, base: str, pause: float):
        super().__init__(name="flow", daemon=True)
        self.base, self.pause = base, pause
        self.accepted: dict[str, str] = {}  # request id -> invitee
        self.approved: set[str] = set()
        self.failures: list[str] = []
        self._session = requests.Session()

    def call(self, method: str, path: str, person: str, **kwargs) -> requests.Response:
        return self._session.request(method, self.base + path, headers={"X-Dev-User": person}, timeout=30, **kwargs)

    def run(self) -> None:
        last_approval = time.monotonic()
        for n in range(INVITATIONS):
            invitee = f"staff{n:03d}.{uuid.uuid4().hex[:6]}@tech.gov.sg"
            try:
                answer = self.call("POST", "/api/v1/invites", REQUESTER,
                                   json={"method": "email_invitation", "email": invitee, "seed_onboarding": n % 4 == 0,
                                         "reason": "Joins the platform team"})
            except requests.RequestException as exc:
                self.failures.append(f"submit: {exc.__class__.__name__}")
                return
            if answer.status_code == 201:
                self.accepted[answer.json()["id"]] = invitee
            else:
                self.failures.append(f"submit {answer.status_code}: {answer.text[:200]}")
            if time.monotonic() - last_approval >= 1.0:
                self.approve()
                last_approval = time.monotonic()
            time.sleep(self.pause)
        deadline = time.monotonic() + 60
        while len(self.approved) < len(self.accepted) and time.monotonic() < deadline:
            self.approve()
            time.sleep(0.5)

    def approve(self) -> None:
        waiting = [i for i in self.accepted if i not in self.approved][:100]
        if not waiting:
            return
        try:
            answer = self.call("POST", "/api/v1/approvals/decisions", APPROVER,
                               json={"decisions": [{"id": i, "decision": "approve", "comment": "ok"} for i in waiting]})
        except requests.RequestException as exc:
            self.failures.append(f"approve: {exc.__class__.__name__}")
            return
        if answer.status_code != 200:
            self.failures.append(f"approve {answer.status_code}: {answer.text[:200]}")
            return
        self.approved.update(r["id"] for r in answer.json()["results"] if r["status"] == 202)


class Readiness(threading.Thread):
    """Polls every service's /readyz four times a second and keeps when each was not ready."""

    def __init__(self, system: RunningSystem):
        super().__init__(name="readiness", daemon=True)
        self.addresses = {name: system.env[f"{name.upper()}_BIND"] for name in SERVICES}
        self.unready: dict[str, list[float]] = collections.defaultdict(list)  # service -> times not ready
        self.why: collections.Counter = collections.Counter()  # (service, what its checks said) -> probes
        self.done = threading.Event()

    def run(self) -> None:
        session = requests.Session()
        while not self.done.wait(0.25):
            for name, bind in self.addresses.items():
                try:
                    answer = session.get(f"http://{bind}/readyz", timeout=2)
                    ok, said = answer.status_code == 200, str(answer.json().get("checks"))
                except (requests.RequestException, ValueError) as exc:
                    ok, said = False, exc.__class__.__name__
                if not ok:
                    self.unready[name].append(time.monotonic())
                    self.why[(name, said)] += 1

    def ready_again_after(self, since: float, until: float) -> float:
        """Seconds from `since` until every service was ready for good (0 when none ever wavered)."""
        last = max((t for times in self.unready.values() for t in times if since <= t <= until), default=since)
        return round(last - since, 1)


def recoveries(system: RunningSystem, since: float, until: float) -> dict[str, float]:
    """The longest a service's consumer went without a node ("consuming again") or its outbox relay
    without a confirm ("outbox relay publishing again"), for the lines its log wrote between the
    wall-clock times `since` and `until`."""
    longest: dict[str, float] = {}
    for name in SERVICES:
        for line in system.log(name).splitlines():
            if not line.startswith("{"):
                continue
            entry = json.loads(line)
            if entry.get("msg") not in ("consuming again", "outbox relay publishing again"):
                continue
            at = dt.datetime.strptime(entry["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc).timestamp()
            if since <= at <= until:
                what = f"{name} {entry.get('queue', 'outbox')}"
                longest[what] = max(longest.get(what, 0.0), entry["after_seconds"])
    return longest


# --- the test -----------------------------------------------------------------------------------

@pytest.fixture
def service_databases(postgres_admin_url):
    urls_ = {s: backing.create_postgres_database(postgres_admin_url) for s in SERVICES}
    yield urls_
    for url in urls_.values():
        backing.drop_postgres_database(postgres_admin_url, url)


def count(db_url: str, sql: str) -> int:
    with psycopg2.connect(db_url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def wait_until(predicate, timeout: float, what: str, system: RunningSystem) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    logs = "\n".join(f"--- {name}\n{system.log(name)[-2500:]}" for name in sorted(system.procs))
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def test_two_nodes_stopped_in_turn_lose_no_invitation_and_repeat_at_most_one_each(cluster, service_databases, mailbox, tmp_path):
    databases = service_databases
    namespace = f"c{uuid.uuid4().hex[:8]}"
    system = RunningSystem(env=system_env(
        amqp_url=urls(cluster), namespace=namespace, db_urls=databases, smtp_url=mailbox.url, var_dir=tmp_path / "var",
        AMQP_QUORUM_QUEUES="true", RETRY_DELAYS="0.5,1,2,4", LOG_LEVEL="WARNING",
        # one requester sends all 200: lift the per-person limits this run is not about
        RATE_LIMIT_SUBMIT="1000000/second", RATE_LIMIT_DECIDE="1000000/second",
        OPEN_REQUESTS_PER_REQUESTER="100000", REQUESTS_PER_DAY_PER_REQUESTER="100000",
    ), logs=tmp_path)
    try:
        system.start()
        processes = dict(system.procs)
        declared = queues(cluster[0], namespace)
        assert declared and {q["type"] for q in declared.values()} == {"quorum"}, declared

        readiness = Readiness(system)
        readiness.start()
        flow = Flow(system.base, pause=0.3)
        started = time.monotonic()
        flow.start()
        stops = []

        # first: the node holding the most queue leaders, ended at once
        time.sleep(6)
        first = busiest(collections.Counter(q["leader"] for q in queues(cluster[0], namespace).values()), cluster)
        stopped_at, wall = time.monotonic(), time.time()
        first.crash()
        time.sleep(STOPPED_SECONDS)
        back_at = time.monotonic()
        stops.append(("crashed", first, stopped_at, back_at, wall, time.time()))
        first.restart()

        # then, once it is back: the node holding the most of the services' connections, stopped for maintenance
        time.sleep(3)
        second = busiest(connections_by_node(cluster), cluster, besides=first)
        stopped_at, wall = time.monotonic(), time.time()
        second.halt()
        time.sleep(STOPPED_SECONDS)
        back_at = time.monotonic()
        stops.append(("stopped", second, stopped_at, back_at, wall, time.time()))
        second.restart()

        flow.join(240)
        assert not flow.is_alive(), "the invitations did not finish flowing"
        assert not flow.failures, flow.failures[:5]
        assert len(flow.accepted) == INVITATIONS and flow.approved == set(flow.accepted)
        emailed = "SELECT count(*) FROM invite_request WHERE state = 'emailed'"
        wait_until(lambda: count(databases["approval"], emailed) == INVITATIONS, 180, "every invitation emailed", system)
        wait_until(lambda: count(databases["intake"], emailed) == INVITATIONS, 60, "intake to hear of every email", system)
        took = time.monotonic() - started

        # nothing left anywhere: work queues, retry queues and dead-letter queues
        def held() -> dict[str, str]:
            return {name: q["messages"] for name, q in queues(cluster[0], namespace).items() if q["messages"] != "0"}
        wait_until(lambda: not held(), 60, f"every queue to be empty (holding: {held()})", system)

        # ready again without a restart: the same processes, each answering ready
        readiness.done.set()
        readiness.join(5)
        assert {name: proc.pid for name, proc in system.procs.items()} == {n: p.pid for n, p in processes.items()}
        assert all(proc.poll() is None for proc in system.procs.values())
        for name in SERVICES:
            assert requests.get(f"http://{system.env[f'{name.upper()}_BIND']}/readyz", timeout=5).status_code == 200, name

        # emailed once each; a repeat only as the same message again, at most one per stopped node
        by_invitee = collections.defaultdict(list)
        invitees = set(flow.accepted.values())
        for message in mailbox.messages:  # the approvers' digests go to the same mailbox
            if message["X-Envelope-To"] in invitees:
                by_invitee[message["X-Envelope-To"]].append(message["Message-ID"])
        assert set(by_invitee) == set(flow.accepted.values())
        repeats = {to: ids for to, ids in by_invitee.items() if len(ids) > 1}
        assert all(len(set(ids)) == 1 for ids in repeats.values()), f"a repeat with another Message-ID: {repeats}"
        duplicates = sum(len(ids) - 1 for ids in repeats.values())
        assert duplicates <= len(stops), f"{duplicates} duplicate invitations for {len(stops)} stopped nodes: {repeats}"

        # what the consumers' idempotency absorbed: messages delivered again (a lost acknowledgement, an
        # outbox batch published again after its confirm was lost with the node) and found handled
        metric_binds = [system.env["INTAKE_METRICS_BIND"], system.env["APPROVAL_BIND"], system.env["NOTIFIER_BIND"]]
        absorbed = sum(v for bind in metric_binds for (name, labels), v in scrape(f"http://{bind}/metrics").items()
                       if name == "invites_messages_handled_total" and ("outcome", "duplicate") in labels)

        if readiness.why:
            print("\nnot ready, as the services said:", dict(readiness.why))
        version = cluster[0].ctl("version").stdout.strip()
        print(f"\nRabbitMQ {version}, 3 nodes, quorum queues: {len(flow.accepted)} accepted, {len(by_invitee)} emailed, "
              f"{duplicates} duplicates, in {took:.0f} s; {absorbed:.0f} messages delivered again and found already handled")
        for how, node, stopped_at, back_at, wall_stopped, wall_back in stops:
            # failed over, not waiting for the node: ready again, and consuming, while it was still away
            assert readiness.ready_again_after(stopped_at, back_at) < back_at - stopped_at - 3, (how, readiness.unready)
            away = recoveries(system, wall_stopped, wall_back)
            assert all(seconds < back_at - stopped_at - 3 for seconds in away.values()), (how, away)
            worst = max(away.items(), key=lambda item: item[1], default=("none", 0.0))
            print(f"  {node.name} {how} for {back_at - stopped_at:.0f} s: /readyz 200 again "
                  f"{readiness.ready_again_after(stopped_at, back_at)} s after the stop (probed every 0.25 s, "
                  f"checks cached 3 s); {len(away)} consumers and relays reconnected to another node, "
                  f"the slowest ({worst[0]}) after {worst[1]} s")
    finally:
        system.stop()
