"""The access log: a line at info for each request people make, and the orchestrator's probes and
Prometheus's scrapes at debug only, so they do not bury the rest."""
from __future__ import annotations

import logging

import pytest

from tests.support.callers import as_user


def access_lines(caplog) -> list[tuple[int, str]]:
    return [(r.levelno, r.route) for r in caplog.records if r.name == "intake.web.access_log"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probe_requests_are_logged_at_debug_not_info(client, caplog, path):
    caplog.set_level(logging.DEBUG, logger="intake")
    client.get(path)
    assert access_lines(caplog) == [(logging.DEBUG, path)]


def test_peoples_requests_stay_at_info(client, caplog):
    caplog.set_level(logging.DEBUG, logger="intake")
    as_user(client, "amy@tech.gov.sg")("GET", "/api/v1/invites")
    assert access_lines(caplog) == [(logging.INFO, "/api/v1/invites")]


def test_at_the_shipped_level_a_probe_leaves_no_line(client, caplog):
    caplog.set_level(logging.INFO, logger="intake")
    for path in ("/healthz", "/readyz"):
        client.get(path)
    assert access_lines(caplog) == []
