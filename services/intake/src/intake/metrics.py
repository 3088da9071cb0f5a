"""Intake's `/metrics`: every HTTP request counted by route template and status, with its latency,
and the outbox and requests-by-state gauges read when Prometheus scrapes."""
from __future__ import annotations

import time

from flask import Flask, Response, g, request

from invite_common import metrics
from invite_common.outbox import Outbox

# Paths no route matched are counted under one label: unknown paths must not grow the series.
UNMATCHED = "<unmatched>"


def instrument(app: Flask, outbox: Outbox, *collectors) -> None:
    """Count and time each request of `app`, and serve the registry on GET /metrics."""
    registry = metrics.registry_for(metrics.HTTP_REQUESTS, metrics.HTTP_LATENCY, metrics.OutboxCollector(outbox), *collectors)

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

    @app.get("/metrics")
    def serve_metrics() -> Response:
        """Prometheus metrics of this intake process."""
        return Response(metrics.exposition(registry), content_type=metrics.CONTENT_TYPE)
