"""The intake process as it runs (waitress): its own limits, and /healthz answering while it is busy or besieged."""
from __future__ import annotations

import io
import socket
import threading
import time
import uuid

import pytest
import requests

from invite_common.topology import Topology
from tests.support.spreadsheets import HEADINGS
from tests.intake.batches.test_upload_costs import workbook
from tests.support.broker import delete_namespace
from tests.support.system import RunningSystem, system_env

HEALTHZ_WITHIN = 1.0


def start_intake(tmp_path, amqp_url, **settings):
    """An intake process of its own (own broker namespace and SQLite files); returns (system, cleanup)."""
    namespace = f"h{uuid.uuid4().hex[:10]}"
    env = system_env(
        amqp_url=amqp_url, namespace=namespace,
        db_urls={s: f"sqlite:///{tmp_path / (s + '.db')}" for s in ("intake", "approval", "notifier")},
        smtp_url="smtp://127.0.0.1:9", var_dir=tmp_path / "var", **settings,
    )
    system = RunningSystem(env=env, logs=tmp_path)
    system.start("intake")

    def cleanup():
        system.stop()
        delete_namespace(amqp_url, Topology(namespace=namespace))

    return system, cleanup


@pytest.fixture(scope="module")
def intake(tmp_path_factory, amqp_url):
    """One intake process for the tests of this module that only ask things of it."""
    system, cleanup = start_intake(tmp_path_factory.mktemp("intake"), amqp_url, HTTP_CHANNEL_TIMEOUT="20")
    yield system
    cleanup()


def healthz_seconds(base: str) -> float:
    started = time.perf_counter()
    assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    return time.perf_counter() - started


def largest_csv() -> bytes:
    rows = 4999
    cell = "a" * ((5 * 1024 * 1024 - 300_000) // rows // 11)
    return (",".join(HEADINGS) + "\r\n" + (",".join([cell] * 11) + "\r\n") * rows).encode()


def test_healthz_answers_within_a_second_while_the_largest_and_costliest_uploads_are_read(intake):
    done = []

    def upload(data):
        response = requests.post(f"{intake.base}/api/v1/batches", headers={"X-Dev-User": "amy@tech.gov.sg"},
                                 files={"file": ("upload", io.BytesIO(data))}, timeout=60)
        done.append(response.status_code)

    files = [largest_csv(), largest_csv(), workbook(b"<f" * 40_000)]
    uploads = [threading.Thread(target=upload, args=(data,)) for data in files]
    for thread in uploads:
        thread.start()
    slowest = 0.0
    while any(thread.is_alive() for thread in uploads):
        slowest = max(slowest, healthz_seconds(intake.base))
        time.sleep(0.05)
    for thread in uploads:
        thread.join()
    assert sorted(done) == [201, 201, 415], done
    assert slowest < HEALTHZ_WITHIN


def test_a_200_mb_body_is_refused_from_its_length_before_it_is_read(intake):
    host, port = intake.env["INTAKE_BIND"].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as client:
        client.sendall(
            b"POST /api/v1/batches HTTP/1.1\r\nHost: x\r\nX-Dev-User: amy@tech.gov.sg\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 209715200\r\n\r\n--b\r\n"
        )
        started = time.perf_counter()
        answer = client.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.perf_counter() - started < 2


def test_clients_that_send_headers_then_stall_do_not_stop_healthz(intake):
    host, port = intake.env["INTAKE_BIND"].split(":")
    stalled = []
    try:
        for _ in range(150):
            client = socket.create_connection((host, int(port)), timeout=5)
            client.sendall(b"POST /api/v1/invites HTTP/1.1\r\nHost: x\r\nX-Dev-User: amy@tech.gov.sg\r\n"
                           b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
            stalled.append(client)
        for _ in range(10):
            assert healthz_seconds(intake.base) < HEALTHZ_WITHIN
    finally:
        for client in stalled:
            client.close()


def test_a_client_that_stops_sending_is_dropped_after_the_channel_timeout(tmp_path, amqp_url):
    intake, cleanup = start_intake(tmp_path, amqp_url, HTTP_CHANNEL_TIMEOUT="2")
    try:
        _dropped_after_timeout(intake)
    finally:
        cleanup()


def _dropped_after_timeout(intake):
    host, port = intake.env["INTAKE_BIND"].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as client:
        client.sendall(b"POST /api/v1/invites HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        started = time.perf_counter()
        assert client.recv(4096) == b""  # the server closed the connection
    assert time.perf_counter() - started < 8


def sign_in_statuses(base: str, forwarded_for: list[str]) -> list[int]:
    """Sign in once from each forwarded address (through the real form, CSRF token and all)."""
    import re

    statuses = []
    for address in forwarded_for:
        browser = requests.Session()
        page = browser.get(f"{base}/sign-in", timeout=5).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = browser.post(f"{base}/sign-in", data={"email": "amy@tech.gov.sg", "csrf_token": token},
                                headers={"X-Forwarded-For": address}, allow_redirects=False, timeout=5)
        statuses.append(response.status_code)
    return statuses


@pytest.mark.parametrize("trusted", [True, False], ids=["behind-a-trusted-proxy", "no-proxy-trusted"])
def test_per_address_limits_count_the_forwarded_address_only_from_the_trusted_proxy(tmp_path, amqp_url, trusted):
    settings = {"RATE_LIMIT_SIGN_IN_PER_ADDRESS": "2/minute", "RATE_LIMIT_SIGN_IN": "100/minute"}
    if trusted:
        settings["TRUSTED_PROXY"] = "127.0.0.1"
    system, cleanup = start_intake(tmp_path, amqp_url, **settings)
    try:
        statuses = sign_in_statuses(system.base, ["203.0.113.7", "203.0.113.7", "203.0.113.7", "198.51.100.9"])
    finally:
        cleanup()
    if trusted:
        # each person's address has its own count: the third from one address waits, another address does not
        assert statuses == [302, 302, 429, 302]
    else:
        # the header is anyone's to send, so it is not believed: every sign-in counts against the connection's address
        assert statuses == [302, 302, 429, 429]


def test_more_idle_connections_than_select_can_watch_do_not_end_intake(tmp_path, amqp_url):
    """Half-open connections past file descriptor 1024 once ended the process (select()'s limit)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"the open-files hard limit ({hard}) is below {wanted}")
    # raised here so that intake, started below, inherits it as containers usually give it
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    try:
        intake, cleanup = start_intake(tmp_path, amqp_url, HTTP_CHANNEL_TIMEOUT="60")
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    host, port = intake.env["INTAKE_BIND"].split(":")
    idle = []
    try:
        for _ in range(20):  # some ordinary traffic first: database connections, worker threads
            assert requests.get(f"{intake.base}/api/v1/invites", headers={"X-Dev-User": "amy@tech.gov.sg"},
                                timeout=5).status_code == 200
        for _ in range(1100):
            idle.append(socket.create_connection((host, int(port)), timeout=5))
        time.sleep(1.5)  # the server accepts them and watches each one
        assert intake.procs["intake"].poll() is None, intake.log("intake")[-2000:]
    finally:
        for client in idle:
            client.close()
    try:
        deadline = time.monotonic() + 10
        while True:
            assert intake.procs["intake"].poll() is None, intake.log("intake")[-2000:]
            try:
                if requests.get(f"{intake.base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)
        assert "filedescriptor out of range" not in intake.log("intake")
    finally:
        cleanup()
