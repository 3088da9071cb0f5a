"""Approval's gauges read from its database when scraped: requests by state, and how long the oldest
request in each open state has waited (what tells a request stuck mid-workflow)."""
from __future__ import annotations

import datetime as dt

import pytest
from prometheus_client.parser import text_string_to_metric_families

from invite_common import metrics
from invite_common.db import utcnow

from approval import bootstrap, settings as approval_settings
from approval.models import InviteRequest

pytestmark = pytest.mark.both_databases("the oldest time in a state is an SQL MIN over timestamps, "
                                        "text on SQLite and a timestamp on PostgreSQL")


def served_samples(tmp_path) -> dict:
    """What approval's /metrics serves of its own collectors, as the declared service registers them."""
    settings = approval_settings.load({"INVITES_VAR_DIR": str(tmp_path)})
    registry = metrics.registry_for(*bootstrap.declare(settings).metrics)
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(metrics.exposition(registry).decode())
        for s in family.samples
    }


def a_request(request_id: str, state: str, minutes_in_state: float) -> None:
    entered = utcnow() - dt.timedelta(minutes=minutes_in_state)
    InviteRequest.create(id=request_id, method="email_invitation", requester="amy@tech.gov.sg",
                         email=f"{request_id}@tech.gov.sg", user_type="public_officer", state=state,
                         submitted_at=entered - dt.timedelta(hours=1), updated_at=entered)


def test_the_oldest_request_in_each_open_state_is_served_with_its_age(approval_db, tmp_path):
    a_request("r1", "approved", 20)
    a_request("r2", "approved", 2)
    a_request("r3", "seed_requested", 45)
    a_request("r4", "emailed", 600)  # closed: its age tells nothing
    samples = served_samples(tmp_path)

    def age(state):
        return samples[("invites_request_oldest_age_seconds", frozenset({("state", state)}))]

    assert age("approved") == pytest.approx(20 * 60, abs=30)
    assert age("seed_requested") == pytest.approx(45 * 60, abs=30)
    # an open state nobody waits in is 0, so an alert on it resolves once the state empties
    assert age("account_created") == 0 and age("submitted") == 0 and age("failed") == 0
    assert not any(name == "invites_request_oldest_age_seconds" and ("state", "emailed") in labels
                   for name, labels in samples)
    assert samples[("invites_requests", frozenset({("state", "approved")}))] == 2


def test_a_request_leaving_a_state_takes_its_age_with_it(approval_db, tmp_path):
    a_request("r1", "account_created", 30)
    InviteRequest.update(state="emailed", updated_at=utcnow()).where(InviteRequest.id == "r1").execute()
    samples = served_samples(tmp_path)
    assert samples[("invites_request_oldest_age_seconds", frozenset({("state", "account_created")}))] == 0
