"""Intake's metrics: requests by route template and status with their latency, and the outbox gauges,
as its metrics listener serves them (the registry the running service builds from the same collectors)."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

import pytest

from invite_common import metrics
from intake.metrics import COLLECTORS
from tests.intake.conftest import as_user

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


def test_the_outbox_backlog_and_its_oldest_rows_age_are_reported(client, served):
    amy = as_user(client, "amy@tech.gov.sg")
    assert sample(scrape(served), "invites_outbox_backlog") == 0
    assert sample(scrape(served), "invites_outbox_oldest_age_seconds") == 0
    assert amy("POST", "/api/v1/invites", json=INVITE).status_code == 201
    samples = scrape(served)
    assert sample(samples, "invites_outbox_backlog") == 1  # no relay runs in these tests
    assert sample(samples, "invites_outbox_oldest_age_seconds") > 0
