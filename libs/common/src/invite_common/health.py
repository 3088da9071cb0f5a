"""Health as the orchestrator reads it: `/healthz` (the process's loops are alive) and `/readyz` (it can
do its work: its database answers a query and an authenticated broker channel opens), and the small
HTTP server the workers serve them on, with `/metrics`.

A service may name a check whose failure leaves it ready (intake without its broker: the outbox keeps
taking requests); the answer then says what is degraded, and `invites_dependency_up` tells Prometheus.
A stopping process is not ready, so no new work is routed to it. Each check's result is kept for a
few seconds: `/readyz` is reachable from outside on intake's port, and every probe must not cost a
broker connection.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterable

from prometheus_client.core import GaugeMetricFamily

from invite_common.config import parse_bind

log = logging.getLogger(__name__)

Check = Callable[[], None]  # raises when not ready
CHECK_CACHE_SECONDS = 3.0


def database_check(database) -> Check:
    """A readiness check that runs `SELECT 1` on the service's database."""

    def check() -> None:
        # each health request runs on a fresh thread: close what it opened
        with database.connection_context():
            database.execute_sql("SELECT 1").fetchone()

    return check


def broker_check(amqp_url: str, consumers: Iterable = ()) -> Check:
    """A readiness check that logs in to the broker as the service and opens a channel: a wrong
    password, a missing vhost or a refused permission fail it, not only an unreachable host. One
    attempt at each node of a cluster: a probe must answer quickly, and one node away is no outage.

    It fails too while one of `consumers` (anything with a `ready` event and a `queue_name`) is not
    consuming: a worker whose connection was lost with a node takes no work until it is back on
    another, and says so rather than looking ready."""
    from invite_common.broker import connect, connection

    def check() -> None:
        idle = [c.queue_name for c in consumers if not c.ready.is_set()]
        if idle:
            raise BrokerNotConsuming(f"not consuming from {', '.join(sorted(idle))}")
        conn = connection(amqp_url, connect_timeout=2)
        try:
            connect(conn)
            conn.channel().close()
        finally:
            conn.release()

    return check


class BrokerNotConsuming(Exception):
    """A consumer of the process has no connection to the broker at the moment."""


class CachedCheck:
    """A check whose outcome is reused for `ttl` seconds; concurrent callers share one run."""

    def __init__(self, check: Check, ttl: float = CHECK_CACHE_SECONDS):
        self._check = check
        self.ttl = ttl
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._error: Exception | None = None

    def __call__(self) -> None:
        with self._lock:
            if time.monotonic() - self._at >= self.ttl:
                try:
                    self._check()
                    self._error = None
                except Exception as exc:  # noqa: BLE001 - whatever the dependency's client raises
                    self._error = exc
                self._at = time.monotonic()
            error = self._error
        if error is not None:
            raise error


def run_checks(checks: dict[str, Check]) -> tuple[bool, dict[str, str]]:
    """Run each check; return whether all passed and each one's result."""
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"unavailable: {exc.__class__.__name__}"
    return all(v == "ok" for v in results.values()), results


@dataclass
class Health:
    """What one process answers on `/healthz` and `/readyz`."""

    checks: dict[str, Check]
    # check name -> what its failure means while the process stays ready
    degraded: dict[str, str] = field(default_factory=dict)
    # the names of the process's loops that have ended although it is not stopping
    dead: Callable[[], list[str]] = list
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.checks = {name: c if isinstance(c, CachedCheck) else CachedCheck(c) for name, c in self.checks.items()}

    def liveness(self) -> tuple[int, dict]:
        """200 while every loop runs; 503 naming the ones that ended (a restart is the cure)."""
        dead = [] if self.stopping.is_set() else self.dead()
        if dead:
            return 503, {"status": "failing", "stopped_loops": dead}
        return 200, {"status": "ok"}

    def readiness(self) -> tuple[int, dict]:
        """200 when the process can do its work (perhaps degraded, and then says how); 503 otherwise."""
        _, results = run_checks(self.checks)
        if self.stopping.is_set():
            return 503, {"ready": False, "checks": results, "message": "stopping"}
        failed = [name for name, result in results.items() if result != "ok"]
        body: dict = {"ready": all(name in self.degraded for name in failed), "checks": results}
        notes = [self.degraded[name] for name in failed if name in self.degraded]
        if notes:
            body["message"] = "; ".join(notes)
        return (200 if body["ready"] else 503), body

    def collector(self) -> "DependencyCollector":
        return DependencyCollector(self.checks)


class DependencyCollector:
    """`invites_dependency_up{dependency}`: 1 when the readiness check of a dependency passes, read at scrape."""

    def __init__(self, checks: dict[str, Check]):
        self.checks = checks

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return [self._family()]

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily("invites_dependency_up", "Whether the process can use a dependency (database, broker).",
                                 labels=["dependency"])

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = self._family()
        for name, check in self.checks.items():
            try:
                check()
                family.add_metric([name], 1)
            except Exception:  # noqa: BLE001
                family.add_metric([name], 0)
        yield family


def serve_health(bind: str, health: Health, metrics: Callable[[], bytes]) -> ThreadingHTTPServer:
    """Start the health server on a daemon thread and return it; `metrics` renders `/metrics`."""
    from invite_common.metrics import CONTENT_TYPE

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: str | bytes, content_type: str = "application/json") -> None:
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(*_json(health.liveness()))
            elif path == "/readyz":
                self._send(*_json(health.readiness()))
            elif path == "/metrics":
                self._send(200, metrics(), CONTENT_TYPE)
            else:
                self._send(404, json.dumps({"error": "not found"}))

        def log_message(self, *args) -> None:
            pass

    host, port = parse_bind(bind)
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    # a short poll: shutdown() waits for the loop to look, and a stopping service should not
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="health", daemon=True).start()
    log.info("health endpoints listening", extra={"bind": bind})
    return server


def _json(answer: tuple[int, dict]) -> tuple[int, str]:
    status, body = answer
    return status, json.dumps(body)
