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


def named(context, part="new"):
    """The invitees a digest names one by one (a batch's requests are one line, not named)."""
    return [i["invitee_email"] for g in context[f"{part}_groups"] for i in g["items"]]


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
    assert named(bob["context"]) == ["p1@tech.gov.sg"]  # not his own request
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
    announced = [email for p in payloads if p["to"] == "dana@tech.gov.sg" for email in named(p["context"])]
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
    assert named(reminded, "expiring") == ["old@tech.gov.sg"]
    expires = dt.datetime.fromisoformat(reminded["expiring_groups"][0]["items"][0]["expires_at"])
    assert expires == old + dt.timedelta(days=14)
    with database.atomic():
        outbox.model.delete().execute()
    digest.send_digest(outbox, SETTINGS, now=now + HOUR)
    assert digests(outbox) == {}


def test_a_decided_request_is_not_in_the_digest(client, outbox, now):
    invite = submit(client, "p1@tech.gov.sg")
    as_user(client, "bob@tech.gov.sg")("POST", f"/api/v1/invites/{invite}/approve", json={})
    assert digest.send_digest(outbox, SETTINGS, now=now).new_count == 0


def in_batch(ids, batch_id, **changes):
    with database.atomic():
        InviteRequest.update(batch_id=batch_id, **changes).where(InviteRequest.id.in_(ids)).execute()


def test_a_batch_is_one_line_linking_to_it_with_how_many_need_a_closer_look(client, outbox, now):
    batch = [submit(client, f"b{i}@tech.gov.sg") for i in range(4)]
    in_batch(batch, "5b0c2a9e-6d1b-4a7e-9a55-2f4e0c1d7b31")
    in_batch(batch[:1], "5b0c2a9e-6d1b-4a7e-9a55-2f4e0c1d7b31", offshore=True)  # the request page warns about it
    single = submit(client, "solo@tech.gov.sg", requester="zed@tech.gov.sg")
    digest.send_digest(outbox, SETTINGS, now=now)
    context = digests(outbox)["dana@tech.gov.sg"]["context"]
    [batch_line, zeds] = context["new_groups"]
    assert batch_line == {"requester": "amy@tech.gov.sg", "count": 4, "closer_look": 1, "items": [],
                          "batch_url": f"{SETTINGS.queue_url}?batch=5b0c2a9e-6d1b-4a7e-9a55-2f4e0c1d7b31"}
    assert zeds["requester"] == "zed@tech.gov.sg" and zeds["batch_url"] is None
    assert [i["url"] for i in zeds["items"]] == [f"{SETTINGS.queue_url}/{single}"]
    assert context["new_count"] == 5 and context["new_more"] == 0


def test_requests_outside_batches_are_grouped_by_requester(client, outbox, now):
    submit(client, "a1@tech.gov.sg")
    submit(client, "z1@tech.gov.sg", requester="zed@tech.gov.sg")
    submit(client, "a2@tech.gov.sg")
    digest.send_digest(outbox, SETTINGS, now=now)
    groups = digests(outbox)["dana@tech.gov.sg"]["context"]["new_groups"]
    assert [(g["requester"], [i["invitee_email"] for i in g["items"]]) for g in groups] == [
        ("amy@tech.gov.sg", ["a1@tech.gov.sg", "a2@tech.gov.sg"]), ("zed@tech.gov.sg", ["z1@tech.gov.sg"])]


def test_the_digest_is_bounded_and_counts_what_it_leaves_out(client, outbox, now, monkeypatch):
    monkeypatch.setattr(digest, "LISTED", 3)
    for i in range(5):
        submit(client, f"a{i}@tech.gov.sg")
    batch = [submit(client, f"b{i}@tech.gov.sg", requester="zed@tech.gov.sg") for i in range(2)]
    in_batch(batch, "b")
    digest.send_digest(outbox, SETTINGS, now=now)
    context = digests(outbox)["dana@tech.gov.sg"]["context"]
    # the batch's line, then two of amy's requests: three lines; three of amy's are counted, not named
    assert [(g["count"], len(g["items"])) for g in context["new_groups"]] == [(2, 0), (5, 2)]
    assert context["new_count"] == 7 and context["new_more"] == 3


def test_a_digest_renders_with_the_notifiers_own_schema(client, outbox, now):
    from notifier.rendering import render

    batch = [submit(client, f"b{i}@tech.gov.sg") for i in range(3)]
    in_batch(batch, "b")
    submit(client, "solo@tech.gov.sg", requester="zed@tech.gov.sg")
    digest.send_digest(outbox, SETTINGS, now=now)
    email = render("approver_digest", digests(outbox)["dana@tech.gov.sg"]["context"])
    assert f"Batch of 3 from amy@tech.gov.sg\n{SETTINGS.queue_url}?batch=b" in email.text
    assert "From zed@tech.gov.sg:\n- solo@tech.gov.sg" in email.text
