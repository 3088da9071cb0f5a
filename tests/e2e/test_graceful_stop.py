"""A service asked to stop (SIGTERM, as a rollout asks a container's first process) finishes what it
holds and exits 0 within SHUTDOWN_SECONDS, also as PID 1 of its own PID namespace, also with its
broker down; nothing accepted is lost or sent twice, and the service comes back ready. Health means
what it says: readiness needs an authenticated broker channel (intake stays ready without its broker
and says so), and a queue the broker holds with another type stops a service at start, naming it."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests
from kombu import Connection

from invite_common.topology import Topology
from tests.support.system import RETRY_DELAYS, SERVICES, RunningSystem, system_env, wait_for_ok
from tests.support.broker import delete_namespace
from tests.support.metrics import scrape, value
from tests.support.ports import free_port
from tests.support.pid1 import Pid1

SHUTDOWN_SECONDS = 8
GRACE_SECONDS = 10
REQUESTER, APPROVER = "amy@tech.gov.sg", "bob@tech.gov.sg"


def target_log(tmp_path, service: str, run: str):
    """The end of the log of the service started as PID 1 for `run`, read when a wait fails."""
    return lambda: (tmp_path / f"{service}-{run}.log").read_text(errors="replace")[-3000:]


def bind_of(system: RunningSystem, service: str) -> str:
    return system.env[f"{service.upper()}_BIND"]


class Traffic(threading.Thread):
    """Invitations submitted and approved one after another until stopped; records the accepted ones."""

    def __init__(self, system: RunningSystem):
        super().__init__(daemon=True)
        self.system = system
        self.accepted: dict[str, str] = {}  # request id -> invitee
        self.approved: set[str] = set()
        self.done = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.done.is_set():
            n += 1
            email = f"staff{n}.{time.monotonic_ns() % 10**9}@tech.gov.sg"
            try:
                created = self.system.call("POST", "/api/v1/invites", REQUESTER, json={
                    "method": "email_invitation", "email": email, "seed_onboarding": False, "reason": "Joining"})
            except requests.RequestException:
                time.sleep(0.1)
                continue
            if created.status_code != 201:
                time.sleep(0.1)
                continue
            invite_id = created.json()["id"]
            self.accepted[invite_id] = email
            self._approve(invite_id)
            time.sleep(0.05)

    def _approve(self, invite_id: str) -> None:
        while not self.done.is_set():
            try:
                answer = self.system.call("POST", f"/api/v1/invites/{invite_id}/approve", APPROVER, json={"comment": ""})
            except requests.RequestException:
                time.sleep(0.1)
                continue
            if answer.status_code == 202:
                self.approved.add(invite_id)
                return
            time.sleep(0.1)


@pytest.fixture
def stop_system(request, tmp_path, amqp_url, mailbox):
    namespace = f"g{int(time.time() * 1000) % 10**9}"
    env = system_env(amqp_url=amqp_url, namespace=namespace,
                     db_urls={s: f"sqlite:///{tmp_path / (s + '.db')}" for s in SERVICES},
                     smtp_url=mailbox.url, var_dir=tmp_path / "var",
                     SHUTDOWN_SECONDS=str(SHUTDOWN_SECONDS), RATE_LIMIT_SUBMIT="10000/minute",
                     RATE_LIMIT_DECIDE="10000/minute", APPROVER_DIGEST_MINUTES="0")
    system = RunningSystem(env=env, logs=tmp_path)
    yield system
    system.stop()
    delete_namespace(amqp_url, Topology(namespace=namespace, retry_delays=RETRY_DELAYS))


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_as_pid_1_stops_on_sigterm_while_invitations_flow_losing_and_doubling_nothing(
        service, stop_system, mailbox, tmp_path):
    system = stop_system
    system.start(*[s for s in SERVICES if s != service])
    target = Pid1([sys.executable, "-m", service], system.env, tmp_path / f"{service}-pid1.log")
    try:
        wait_for_ok(f"http://{bind_of(system, service)}/readyz", log=target_log(tmp_path, service, "pid1"))
        assert target.namespace_pid() == 1
        traffic = Traffic(system)
        traffic.start()
        time.sleep(2.0)
        status, stopped_in = target.stop_timed(GRACE_SECONDS + 5)
    finally:
        target.kill()
    log = (tmp_path / f"{service}-pid1.log").read_text(errors="replace")
    assert status == 0, log[-3000:]
    assert stopped_in < GRACE_SECONDS, f"{service} took {stopped_in:.1f}s"
    assert f"{service} stopped" in log
    system.start(service)  # back, under the same settings, and ready
    time.sleep(1.0)
    traffic.done.set()
    traffic.join(15)
    assert len(traffic.approved) >= 3, "too little traffic to judge"
    for invite_id in traffic.approved:
        system.wait_for_state(invite_id, "emailed", timeout=40)
    for invite_id in traffic.approved:
        assert len(mailbox.to(traffic.accepted[invite_id])) == 1, traffic.accepted[invite_id]


@pytest.mark.parametrize("service", ["approval", "notifier", "intake"])
def test_a_service_stops_within_seconds_while_its_broker_is_down(service, stop_system, tmp_path):
    system = stop_system
    closed = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    system.env = dict(system.env, AMQP_URL=closed)
    target = Pid1([sys.executable, "-m", service], system.env, tmp_path / f"{service}-down.log")
    try:
        health = system.env["INTAKE_METRICS_BIND"] if service == "intake" else bind_of(system, service)
        wait_for_ok(f"http://{health}/healthz", log=target_log(tmp_path, service, "down"))
        time.sleep(1.5)  # in the middle of its reconnection waits
        status, stopped_in = target.stop_timed(GRACE_SECONDS + 5)
    finally:
        target.kill()
    assert status == 0
    assert stopped_in < 4.0, f"{service} took {stopped_in:.1f}s with its broker down"


def test_intake_answers_the_request_in_flight_and_refuses_new_connections_while_it_stops(stop_system, tmp_path):
    system = stop_system
    target = Pid1([sys.executable, "-m", "intake"], system.env, tmp_path / "intake-drain.log")
    try:
        wait_for_ok(f"http://{system.env['INTAKE_BIND']}/readyz", log=target_log(tmp_path, "intake", "drain"))
        host, port = system.env["INTAKE_BIND"].split(":")
        body = (b'{"method": "email_invitation", "email": "late.joiner@tech.gov.sg", '
                b'"seed_onboarding": false, "reason": "Joining"}')
        client = socket.create_connection((host, int(port)), timeout=10)
        client.sendall(b"POST /api/v1/invites HTTP/1.1\r\nHost: x\r\nX-Dev-User: amy@tech.gov.sg\r\n"
                       b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:20])
        time.sleep(0.3)
        target.signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(OSError):
            socket.create_connection((host, int(port)), timeout=2).close()
        client.sendall(body[20:])
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = client.recv(65536)
            assert chunk, answer
            answer += chunk
        client.close()
        assert answer.startswith(b"HTTP/1.1 201"), answer[:300]
        assert target.wait(GRACE_SECONDS) == 0
    finally:
        target.kill()
    system.start("intake")
    listed = system.call("GET", "/api/v1/invites", REQUESTER).json()
    assert [i["email"] for i in listed["items"]] == ["late.joiner@tech.gov.sg"], listed


def test_readiness_needs_a_broker_login_that_works_and_intake_stays_ready_without_its_broker(stop_system, amqp_url):
    system = stop_system
    wrong = amqp_url.replace("guest:guest@", "guest:not-the-password@", 1)
    if wrong == amqp_url:
        pytest.skip("the test broker URL has no guest login to get wrong")
    system.env = dict(system.env, AMQP_URL=wrong)
    system.procs["approval"] = subprocess.Popen([sys.executable, "-m", "approval"], env=system.env,
                                                stdout=open(system.logs / "approval.log", "ab"), stderr=subprocess.STDOUT)
    system.procs["intake"] = subprocess.Popen([sys.executable, "-m", "intake"], env=system.env,
                                              stdout=open(system.logs / "intake.log", "ab"), stderr=subprocess.STDOUT)
    approval, intake = bind_of(system, "approval"), system.env["INTAKE_BIND"]
    deadline = time.monotonic() + 30
    while True:
        try:
            answers = [requests.get(f"http://{bind}/readyz", timeout=5) for bind in (approval, intake)]
            break
        except requests.RequestException:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    refused, degraded = answers
    assert refused.status_code == 503 and refused.json()["checks"]["broker"].startswith("unavailable")
    assert refused.json()["checks"]["database"] == "ok"
    assert requests.get(f"http://{approval}/healthz", timeout=5).status_code == 200
    assert degraded.status_code == 200 and degraded.json()["ready"] is True
    assert degraded.json()["message"] == "broker unavailable, requests held in the outbox"
    samples = scrape(f"http://{system.env['INTAKE_METRICS_BIND']}/metrics")
    assert value(samples, "invites_dependency_up", dependency="broker") == 0
    assert value(samples, "invites_dependency_up", dependency="database") == 1
    # intake still takes requests, held in its outbox
    held = system.call("POST", "/api/v1/invites", REQUESTER, json={
        "method": "email_invitation", "email": "held@tech.gov.sg", "seed_onboarding": False, "reason": "Joining"})
    assert held.status_code == 201


def test_a_queue_of_another_type_on_the_broker_stops_the_service_at_start_naming_it(stop_system, amqp_url):
    system = stop_system
    namespace = system.env["AMQP_NAMESPACE"]
    classic = Topology(namespace=namespace, retry_delays=RETRY_DELAYS)
    with Connection(amqp_url) as conn:
        channel = conn.channel()
        for exchange in classic.exchanges():
            exchange(channel).declare()
        classic.queue("approval.workflow")(channel).declare()
    done = subprocess.run([sys.executable, "-m", "approval"], env=system.env | {"AMQP_QUORUM_QUEUES": "true"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"configuration error: queue {namespace}.approval.workflow exists on the broker with other arguments")
    assert "x-queue-type" in last
