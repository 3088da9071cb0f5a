"""Intake's metrics: requests by route template and status with their latency, and the outbox gauges,
as its metrics listener serves them (the registry the running service builds from the same collectors)."""
from __future__ import annotations

import urllib.request

import requests
from prometheus_client.parser import text_string_to_metric_families

import pytest

from invite_common import metrics
from intake.web.metrics import COLLECTORS
from tests.support.callers import as_user
from tests.support import metrics as scraping

INVITE = {"method": "email_invitation", "email": "jane.tan@tech.gov.sg", "seed_onboarding": False, "reason": "Joining"}


@pytest.fixture
def served(outbox):
    """What intake's metrics listener serves: its registry, built as the running service builds it."""
    return metrics.registry_for(*COLLECTORS, metrics.OutboxCollector(outbox))


def scrape(registry) -> dict:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(metrics.exposition(registry).decode())
        for s in family.samples
    }


def sample(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_by_route_template_and_status_with_their_latency(client, served):
    amy = as_user(client, "amy@tech.gov.sg")
    before = scrape(served)
    created = amy("POST", "/api/v1/invites", json=INVITE)
    assert created.status_code == 201
    assert amy("GET", f"/api/v1/invites/{created.get_json()['id']}").status_code == 200
    assert amy("GET", "/api/v1/invites/no-such-id").status_code == 404
    assert amy("GET", "/no/such/page/jane.tan@tech.gov.sg").status_code == 404
    after = scrape(served)

    def grew(name, **labels):
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("invites_http_requests_total", route="/api/v1/invites", method="POST", status="201") == 1
    one = "/api/v1/invites/<string:invite_id>"
    assert grew("invites_http_requests_total", route=one, method="GET", status="200") == 1
    assert grew("invites_http_requests_total", route=one, method="GET", status="404") == 1
    # a path no route matched is one label, never the path itself (it could carry an email)
    assert grew("invites_http_requests_total", route="<unmatched>", method="GET", status="404") == 1
    assert not any("jane.tan" in str(labels) for _, labels in after)
    assert grew("invites_http_request_duration_seconds_count", route=one, method="GET") == 2
    assert grew("invites_http_request_duration_seconds_bucket", route=one, method="GET", le="+Inf") == 2


# deploy/alerts.yml leaves these routes out of the error ratio and the latency: an orchestrator's
# probes are many, fast, and answer 503 while the database is away, which its own alerts report
PROBE_ROUTES = {"/healthz", "/readyz"}


def test_probes_are_counted_under_their_own_routes_which_the_alerts_leave_out(app, client, served):
    probed = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint in ("healthz", "readyz")}
    assert probed == PROBE_ROUTES
    before = scrape(served)
    for route in sorted(PROBE_ROUTES):
        client.get(route)
    after = scrape(served)

    def answered(route):
        return sum(v - before.get((name, labels), 0.0) for (name, labels), v in after.items()
                   if name == "invites_http_requests_total" and dict(labels)["route"] == route)

    assert {route: answered(route) for route in PROBE_ROUTES} == {route: 1 for route in PROBE_ROUTES}


def test_a_status_code_http_does_not_register_is_counted_as_other(app, served):
    app.add_url_rule("/odd", "odd", lambda: ("", 599))
    client = app.test_client()
    before = sample(scrape(served), "invites_http_requests_total", route="/odd", method="GET", status="other")
    assert client.get("/odd").status_code == 599
    samples = scrape(served)
    assert sample(samples, "invites_http_requests_total", route="/odd", method="GET", status="other") == before + 1
    assert not any(dict(labels).get("status") == "599" for _, labels in samples)


def test_the_outbox_backlog_and_its_oldest_rows_age_are_reported(client, served):
    amy = as_user(client, "amy@tech.gov.sg")
    assert sample(scrape(served), "invites_outbox_backlog") == 0
    assert sample(scrape(served), "invites_outbox_oldest_age_seconds") == 0
    assert amy("POST", "/api/v1/invites", json=INVITE).status_code == 201
    samples = scrape(served)
    assert sample(samples, "invites_outbox_backlog") == 1  # no relay runs in these tests
    assert sample(samples, "invites_outbox_oldest_age_seconds") > 0


def test_invented_http_methods_are_counted_as_one_label_and_the_exposition_stays_small(tmp_path, amqp_url):
    from tests.intake.test_http_server import start_intake

    intake, cleanup = start_intake(tmp_path, amqp_url)
    try:
        url = f"http://{intake.env['INTAKE_METRICS_BIND']}/metrics"
        size_before = len(urllib.request.urlopen(url, timeout=5).read())
        with requests.Session() as session:
            for n in range(400):
                # anyone may send any token as a method; each one must not become a series of its own
                answer = session.request(f"INVENTED{n}", f"{intake.base}/api/v1/invites", timeout=5)
                assert answer.status_code in (405, 501)
            assert session.request("get", f"{intake.base}/healthz", timeout=5).status_code == 200
        body = urllib.request.urlopen(url, timeout=5).read()
        samples = scraping.scrape(url)
    finally:
        cleanup()
    assert b"INVENTED" not in body
    # served by the process as declared (intake.bootstrap), not only counted
    assert b"invites_rate_limits_lapsed_total 0.0" in body
    methods = {dict(labels).get("method") for name, labels in samples if name == "invites_http_requests_total"}
    assert methods <= {"GET", "other"}, methods
    invented = sum(v for (name, labels), v in samples.items()
                   if name == "invites_http_requests_total" and dict(labels)["method"] == "other")
    assert invented == 400
    # one series for all of them: a few histogram buckets more, not 400 sets of them
    assert len(body) - size_before < 8_000, len(body) - size_before
