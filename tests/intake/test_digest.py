"""The approvers' digest on a real database, with the time given by the test (no sleeping)."""
import datetime as dt
import json

import pytest

from intake.approvals import digest
from intake.db import database
from intake.models import DigestRun, InviteRequest
from tests.support.callers import as_user

pytestmark = pytest.mark.both_databases("the digest selects by date arithmetic in SQL")

OFFICER = {"method": "email_invitation", "email": "jane@tech.gov.sg", "seed_onboarding": False, "reason": "New joiner"}
HOUR = dt.timedelta(hours=1)
SETTINGS = digest.DigestSettings(interval=HOUR, expiry_days=14, queue_url="https://invites.example.gov.sg/approvals")


def submit(client, email, requester="amy@tech.gov.sg", at=None):
    body = as_user(client, requester)("POST", "/api/v1/invites", json=OFFICER | {"email": email}).get_json()
    if at is not None:
        with database.atomic():
            InviteRequest.update(created_at=at).where(InviteRequest.id == body["id"]).execute()
    return body["id"]


def digests(outbox):
    found = [json.loads(r.body)["payload"] for r in outbox.pending() if r.message_type == "notifier.send_email"]
    return {p["to"]: p for p in found}


@pytest.fixture
def now():
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + HOUR


def test_each_approver_gets_one_email_about_the_new_requests_they_may_decide(client, outbox, now):
    submit(client, "p1@tech.gov.sg")
    submit(client, "p2@tech.gov.sg", requester="bob@tech.gov.sg")
    run = digest.send_digest(outbox, SETTINGS, now=now)
    assert run.new_count == 2 and run.emails == 2
    sent = digests(outbox)
    assert set(sent) == {"bob@tech.gov.sg", "dana@tech.gov.sg"}
    bob, dana = sent["bob@tech.gov.sg"], sent["dana@tech.gov.sg"]
    assert [i["invitee_email"] for i in bob["context"]["new"]] == ["p1@tech.gov.sg"]  # not his own request
    assert dana["context"]["new_count"] == 2 and dana["context"]["waiting_count"] == 2
    assert dana["template"] == "approver_digest" and dana["context"]["queue_url"].endswith("/approvals")
    assert bob["request_id"] == dana["request_id"] and bob["send_key"] != dana["send_key"]


def test_an_approver_grant_outside_the_organisation_gets_no_digest(client, outbox, now):
    from intake.models import RoleGrant

    with database.atomic():
        RoleGrant.create(role="approver", email="val@vendor.example.com")  # granted before grants were checked
    submit(client, "p1@tech.gov.sg")
    digest.send_digest(outbox, SETTINGS, now=now)
    assert set(digests(outbox)) == {"bob@tech.gov.sg", "dana@tech.gov.sg"}


def test_no_digest_before_the_interval_and_none_when_nothing_is_new(client, outbox, now):
    assert digest.send_digest(outbox, SETTINGS, now=now).emails == 0
    submit(client, "p1@tech.gov.sg")
    assert digest.send_digest(outbox, SETTINGS, now=now + HOUR / 2) is None
    assert digests(outbox) == {}
    assert digest.send_digest(outbox, SETTINGS, now=now + HOUR).emails == 0  # p1 was submitted before `now`
    assert DigestRun.select().count() == 2


def test_requests_are_announced_once_across_digests(client, outbox, now):
    submit(client, "p1@tech.gov.sg")
    digest.send_digest(outbox, SETTINGS, now=now)
    later = now + HOUR
    submit(client, "p2@tech.gov.sg", at=now + HOUR / 2)
    digest.send_digest(outbox, SETTINGS, now=later)
    payloads = [json.loads(r.body)["payload"] for r in outbox.pending() if r.message_type == "notifier.send_email"]
    announced = [i["invitee_email"] for p in payloads if p["to"] == "dana@tech.gov.sg" for i in p["context"]["new"]]
    assert announced == ["p1@tech.gov.sg", "p2@tech.gov.sg"]


def test_a_request_about_to_expire_is_reminded_once_in_the_digest(client, outbox, now):
    # submitted 13 days ago minus a little: its reminder moment (a day before expiry) falls in the next hour
    old = now - dt.timedelta(days=13) - HOUR / 2
    submit(client, "late@tech.gov.sg", at=old - HOUR * 2)
    digest.send_digest(outbox, SETTINGS, now=now - HOUR)  # the digest before: not yet due for a reminder
    assert digests(outbox) == {}
    submit(client, "late@tech.gov.sg".replace("late", "old"), at=old)
    run = digest.send_digest(outbox, SETTINGS, now=now)
    assert run.expiring_count == 1
    reminded = digests(outbox)["dana@tech.gov.sg"]["context"]
    assert [i["invitee_email"] for i in reminded["expiring"]] == ["old@tech.gov.sg"]
    expires = dt.datetime.fromisoformat(reminded["expiring"][0]["expires_at"])
    assert expires == old + dt.timedelta(days=14)
    with database.atomic():
        outbox.model.delete().execute()
    digest.send_digest(outbox, SETTINGS, now=now + HOUR)
    assert digests(outbox) == {}


def test_a_decided_request_is_not_in_the_digest(client, outbox, now):
    invite = submit(client, "p1@tech.gov.sg")
    as_user(client, "bob@tech.gov.sg")("POST", f"/api/v1/invites/{invite}/approve", json={})
    assert digest.send_digest(outbox, SETTINGS, now=now).new_count == 0
