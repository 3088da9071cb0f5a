"""Prometheus metrics every service serves on `/metrics`, through prometheus-client.

The counters and histograms are made once per process and counted where things happen (the
HTTP layer, the consumer, the mailer). Figures read from a service's database (its outbox
backlog, requests by state) are collected when Prometheus scrapes, so they are never stale and
cost nothing between scrapes. Each service gathers what it serves in a registry of its own.
"""
from __future__ import annotations

import logging
import time
from http import HTTPStatus
from typing import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from invite_common.db import utcnow

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Latency buckets from a fast database round trip to a slow directory or mail relay.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "invites_http_requests", "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"], registry=None,
)
HTTP_LATENCY = Histogram(
    "invites_http_request_duration_seconds", "Time to answer an HTTP request, by route template and method.",
    ["route", "method"], buckets=_BUCKETS, registry=None,
)
MESSAGES = Counter(
    "invites_messages_handled",
    "Messages a consumer finished with, by queue, type and outcome "
    "(handled, duplicate, retried, dead_lettered, requeued).",
    ["queue", "type", "outcome"], registry=None,
)
HANDLER_LATENCY = Histogram(
    "invites_message_handler_duration_seconds", "Time a handler took on a message, commit included.",
    ["queue", "type"], buckets=_BUCKETS, registry=None,
)
OUTBOX_PUBLISHED = Counter(
    "invites_outbox_published", "Outbox messages published with the broker's confirm.", registry=None,
)
EMAILS_SENT = Counter("invites_emails_sent", "Emails the mail relay accepted, by template.", ["template"], registry=None)
EMAILS_FAILED = Counter(
    "invites_emails_failed", "Emails given up on (refused, or retries exhausted), by template.", ["template"], registry=None,
)

_EVERY_PROCESS = (MESSAGES, HANDLER_LATENCY, OUTBOX_PUBLISHED)

# Every label value is a series kept in memory and written out on each scrape, so a value a caller
# chooses (any token is a valid HTTP method) is counted under one label instead of one of its own.
OTHER = "other"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
_STATUSES = frozenset(str(status.value) for status in HTTPStatus)


def method_label(method: str) -> str:
    """The method as a metric label: a standard HTTP method, or `other`."""
    return method if method in _METHODS else OTHER


def status_label(status: int | str) -> str:
    """The status code as a metric label: a registered HTTP status, or `other`."""
    status = str(status)
    return status if status in _STATUSES else OTHER


def observe_request(route: str, method: str, status: int, started: float | None = None) -> None:
    """Count an answered HTTP request under its route template, and its time since `started` when known.

    `route` must already be one of a few (a route template, or one label for paths no route matched)."""
    method = method_label(method)
    HTTP_REQUESTS.labels(route, method, status_label(status)).inc()
    if started is not None:
        HTTP_LATENCY.labels(route, method).observe(time.perf_counter() - started)


def observe_message(queue: str, type_name: str, outcome: str, started: float | None = None) -> None:
    """Count a message's outcome, and the handler's time when it ran."""
    MESSAGES.labels(queue, type_name, outcome).inc()
    if started is not None:
        HANDLER_LATENCY.labels(queue, type_name).observe(time.perf_counter() - started)


class OutboxCollector(Collector):
    """Reads the outbox's backlog and the age of its oldest unpublished row when scraped."""

    def __init__(self, outbox) -> None:
        self.outbox = outbox

    def collect(self) -> Iterable[GaugeMetricFamily]:
        backlog = GaugeMetricFamily("invites_outbox_backlog", "Outbox messages written but not yet published.")
        age = GaugeMetricFamily(
            "invites_outbox_oldest_age_seconds", "How long the oldest unpublished outbox message has waited (0 when none).")
        try:
            count, oldest = _read(self.outbox.database, self.outbox.backlog)
        except Exception as exc:  # the database is away: /readyz says so; the scrape still answers
            log.warning("outbox metrics unavailable", extra={"error": exc.__class__.__name__})
            return
        backlog.add_metric([], count)
        age.add_metric([], (utcnow() - oldest).total_seconds() if oldest is not None else 0.0)
        yield backlog
        yield age


class QueryCollector(Collector):
    """A gauge family whose samples come from a database query run when scraped."""

    def __init__(self, database, name: str, documentation: str, labels: list[str],
                 query: Callable[[], Iterable[tuple[tuple[str, ...], float]]]) -> None:
        self.database, self.name, self.documentation, self.labels, self.query = database, name, documentation, labels, query

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labels)
        try:
            samples = _read(self.database, lambda: list(self.query()))
        except Exception as exc:
            log.warning("metrics query unavailable", extra={"metric": self.name, "error": exc.__class__.__name__})
            return
        for labels, value in samples:
            family.add_metric(list(labels), value)
        yield family


def _read(database, query):
    # a worker's health server answers each scrape on a new thread, which opens and closes its own
    # connection; intake's request threads keep theirs, which must stay open
    if not database.is_closed():
        return query()
    with database.connection_context():
        return query()


def registry_for(*extra: Collector) -> CollectorRegistry:
    """A service's registry: the metrics every process counts, plus the service's own."""
    registry = CollectorRegistry(auto_describe=True)
    for collector in (*_EVERY_PROCESS, *extra):
        registry.register(collector)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry's samples in Prometheus's text format."""
    return generate_latest(registry)
