"""A small HTTP server for workers: `/healthz` (alive), `/readyz` (DB and broker reachable), `/metrics`."""
from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import urlparse

from invite_common.config import parse_bind

log = logging.getLogger(__name__)

Check = Callable[[], None]  # raises when not ready


def database_check(database) -> Check:
    """A readiness check that runs `SELECT 1` on the service's database."""

    def check() -> None:
        # each health request runs on a fresh thread: close what it opened
        with database.connection_context():
            database.execute_sql("SELECT 1").fetchone()

    return check


def broker_check(amqp_url: str) -> Check:
    """A readiness check that opens (and closes) a TCP connection to the broker."""
    parts = urlparse(amqp_url)

    def check() -> None:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), timeout=2):
            pass

    return check


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


def serve_health(bind: str, checks: dict[str, Check], metrics: Callable[[], bytes]) -> ThreadingHTTPServer:
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
                self._send(200, json.dumps({"status": "ok"}))
            elif path == "/readyz":
                ok, results = run_checks(checks)
                self._send(200 if ok else 503, json.dumps({"ready": ok, "checks": results}))
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
