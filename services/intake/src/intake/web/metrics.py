"""Intake's HTTP metrics: every request counted by route template and status, with its latency.

They are served, with the outbox gauges, on intake's metrics listener (INTAKE_METRICS_BIND), not
on the portal's port: the portal's port is the public one."""
from __future__ import annotations

import time

from flask import Flask, Response, g, request

from invite_common import metrics

# Paths no route matched are counted under one label: unknown paths must not grow the series.
UNMATCHED = "<unmatched>"


COLLECTORS = (metrics.HTTP_REQUESTS, metrics.HTTP_LATENCY)


def register_metrics(app: Flask) -> None:
    """Count and time each request of `app`."""

    @app.before_request
    def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observe(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        # the method and status are bounded there: anyone may send any token as a method
        metrics.observe_request(route, request.method, response.status_code, started)
        return response
