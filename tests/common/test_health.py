"""What /healthz and /readyz answer: a loop that ended fails liveness, a stopping process is not ready,
a degraded dependency is said, and one probe's check is shared by the probes of the next seconds."""
from __future__ import annotations

import threading

from invite_common.health import Health


def failing() -> None:
    raise ConnectionRefusedError()


def test_a_loop_that_ended_fails_liveness_naming_it():
    dead: list[str] = []
    health = Health({}, dead=lambda: dead)
    assert health.liveness() == (200, {"status": "ok"})
    dead.append("consumer-approval.workflow")
    assert health.liveness() == (503, {"status": "failing", "stopped_loops": ["consumer-approval.workflow"]})
    health.stopping.set()  # a stopping process's loops end on purpose
    assert health.liveness()[0] == 200


def test_a_degraded_dependency_leaves_the_process_ready_and_says_so():
    health = Health({"database": lambda: None, "broker": failing}, degraded={"broker": "broker unavailable, requests held in the outbox"})
    status, body = health.readiness()
    assert status == 200 and body["ready"] is True
    assert body["checks"] == {"database": "ok", "broker": "unavailable: ConnectionRefusedError"}
    assert body["message"] == "broker unavailable, requests held in the outbox"
    assert Health({"database": failing, "broker": lambda: None}, degraded={"broker": "x"}).readiness()[0] == 503


def test_a_stopping_process_is_not_ready():
    health = Health({"database": lambda: None})
    health.stopping.set()
    assert health.readiness() == (503, {"ready": False, "checks": {"database": "ok"}, "message": "stopping"})


def test_probes_within_seconds_share_one_check():
    calls = []
    health = Health({"broker": lambda: calls.append(1)})
    threads = [threading.Thread(target=health.readiness) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1


def test_the_workers_health_server_logs_no_probe_or_scrape(caplog, capfd):
    """The workers' port is asked by the kubelet and Prometheus every few seconds: nothing is logged for it,
    neither through logging nor on stderr, where the standard library's HTTP server writes a line per request."""
    import logging
    import urllib.request

    from invite_common.health import serve_health
    from tests.support.ports import free_port

    bind = f"127.0.0.1:{free_port()}"
    caplog.set_level(logging.DEBUG)
    server = serve_health(bind, Health({}), lambda: b"# TYPE up gauge\n")
    try:
        caplog.clear()
        for path in ("/healthz", "/readyz", "/metrics"):
            with urllib.request.urlopen(f"http://{bind}{path}", timeout=5) as answer:
                assert answer.status == 200
    finally:
        server.shutdown()
        server.server_close()
    assert caplog.records == []
    assert capfd.readouterr().err == ""
