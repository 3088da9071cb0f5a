"""One log line per request: its method, its route's pattern, its status and how long it took.

The orchestrator's probes and Prometheus's scrapes are logged at debug: every replica is asked
several times a minute, and at info they buried the requests people made."""
from __future__ import annotations

import logging
import time

from flask import Flask, g, request

from invite_common.logs import request_context

log = logging.getLogger(__name__)

# asked by machines on a schedule, not by people
PROBE_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


def register_access_log(app: Flask) -> None:
    """Log every request the app answers."""

    @app.before_request
    def _start():
        g.started = time.monotonic()

    @app.after_request
    def _log_request(response):
        # the route's pattern, never the URL: query strings may carry emails
        rule = request.url_rule.rule if request.url_rule else "(no route)"
        invite_id = (request.view_args or {}).get("invite_id")
        level = logging.DEBUG if rule in PROBE_ROUTES else logging.INFO
        with request_context(invite_id):
            log.log(
                level,
                "http request",
                extra={"method": request.method, "route": rule, "status": response.status_code,
                       "ms": round((time.monotonic() - g.get("started", time.monotonic())) * 1000, 1)},
            )
        return response
