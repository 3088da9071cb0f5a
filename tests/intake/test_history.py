"""The request history: append-only, fed idempotently by approval's events (the chain: tests/intake/audit)."""
import datetime as dt

import pytest

from invite_common.messages import new_message
from intake import history
from intake.history import consumer
from intake.db import database
from intake.invites import rules
from intake.tables import invite_requests
from invite_common.people import person_key
from intake.models import HistoryEntry, InviteRequest, TakenUsername
from tests.support.callers import as_user

pytestmark = pytest.mark.both_databases("history is appended idempotently by unique source sequence")

OFFICER = {"method": "email_invitation", "email": "jane@tech.gov.sg", "seed_onboarding": False, "reason": "New joiner"}


def changed(request_id, seq, from_state, to_state, verb, details=None, actor="system", note=""):
    return new_message(
        "invite.state_changed",
        {"request_id": request_id, "seq": seq, "from_state": from_state, "to_state": to_state, "verb": verb,
         "actor": actor, "note": note, "changed_at": dt.datetime.now(dt.timezone.utc).isoformat(), "details": details or {}},
        correlation_id=request_id, producer="approval",
    )


@pytest.fixture
def invite(client):
    return as_user(client, "amy@tech.gov.sg")("POST", "/api/v1/invites", json=OFFICER).get_json()


def apply(env):
    with database.atomic():
        consumer.record_state_change(env)


def test_state_changes_move_the_request_and_are_recorded_once(invite):
    apply(changed(invite["id"], 1, "submitted", "approved", "approve"))
    apply(changed(invite["id"], 1, "submitted", "approved", "approve"))  # redelivered as a new message
    apply(changed(invite["id"], 2, "approved", "account_created", "provision", {"username": "jane"}))
    request = InviteRequest.get_by_id(invite["id"])
    assert request.state == "account_created"
    assert [e.event for e in history.for_request(invite["id"])] == ["submit", "approve", "provision"]
    assert TakenUsername.get_or_none(username_key="jane")


def test_one_event_with_moves_that_followed_records_each_move_once_in_order(invite):
    approved = changed(invite["id"], 1, "submitted", "approved", "approve")
    provisioned = changed(invite["id"], 2, "approved", "account_created", "provision", {"username": "jane"})
    step = {k: v for k, v in provisioned.payload.items() if k != "request_id"}
    both = new_message("invite.state_changed", approved.payload | {"then": [step]}, correlation_id=invite["id"], producer="approval")
    apply(approved)  # the first move already arrived on its own
    apply(both)
    apply(both)
    request = InviteRequest.get_by_id(invite["id"])
    assert (request.state, request.state_seq) == ("account_created", 2)
    assert [(e.event, e.source_seq) for e in history.for_request(invite["id"])] == [("submit", None), ("approve", 1), ("provision", 2)]
    assert TakenUsername.get_or_none(username_key="jane")


def test_one_event_with_two_new_moves_records_both(invite):
    approved = changed(invite["id"], 1, "submitted", "approved", "approve")
    provisioned = changed(invite["id"], 2, "approved", "account_created", "provision", {"username": "jane"})
    step = {k: v for k, v in provisioned.payload.items() if k != "request_id"}
    both = new_message("invite.state_changed", approved.payload | {"then": [step]}, correlation_id=invite["id"], producer="approval")
    apply(both)
    apply(both)
    assert InviteRequest.get_by_id(invite["id"]).state == "account_created"
    assert [(e.event, e.source_seq) for e in history.for_request(invite["id"])] == [("submit", None), ("approve", 1), ("provision", 2)]


def test_a_late_event_never_moves_state_backwards(invite):
    apply(changed(invite["id"], 2, "approved", "account_created", "provision"))
    apply(changed(invite["id"], 1, "submitted", "approved", "approve"))
    assert InviteRequest.get_by_id(invite["id"]).state == "account_created"


def test_closing_a_request_frees_its_email_for_a_new_one(invite, client):
    apply(changed(invite["id"], 1, "submitted", "rejected", "reject"))
    again = as_user(client, "amy@tech.gov.sg")("POST", "/api/v1/invites", json=OFFICER)
    assert again.status_code == 201


def test_a_failed_request_an_operator_closes_shows_why_and_frees_its_email(invite, client):
    amy = as_user(client, "amy@tech.gov.sg")
    apply(changed(invite["id"], 1, "submitted", "approved", "approve"))
    apply(changed(invite["id"], 2, "approved", "failed", "fail", note="provision failed: the invitee already has an account"))
    assert amy("POST", "/api/v1/invites", json=OFFICER).status_code == 409  # failed still holds the address
    reason = "Jane already holds a TechPass account; she can sign in with it."
    apply(changed(invite["id"], 3, "failed", "closed", "close", actor="ops@tech.gov.sg", note=reason))

    shown = amy("GET", f"/api/v1/invites/{invite['id']}").get_json()
    assert shown["state"] == "closed"
    closing = shown["history"][-1]
    assert (closing["event"], closing["from_state"], closing["to_state"], closing["actor"], closing["note"]) == (
        "close", "failed", "closed", "ops@tech.gov.sg", reason)
    listed = amy("GET", "/api/v1/invites?state=closed").get_json()["items"]
    assert [i["id"] for i in listed] == [invite["id"]]
    assert amy("POST", "/api/v1/invites", json=OFFICER).status_code == 201


def test_a_request_closed_after_its_account_was_made_still_counts_as_the_persons_account(invite, client):
    amy = as_user(client, "amy@tech.gov.sg")
    apply(changed(invite["id"], 1, "submitted", "approved", "approve"))
    apply(changed(invite["id"], 2, "approved", "account_created", "provision", details={"username": "jane.tan"}))
    apply(changed(invite["id"], 3, "account_created", "failed", "fail", note="email failed: the relay refused it"))
    apply(changed(invite["id"], 4, "failed", "closed", "close", actor="ops@tech.gov.sg", note="Told Jane by phone."))
    again = amy("POST", "/api/v1/invites", json=OFFICER)
    # the closed request no longer holds the address, but the account it made exists
    assert again.status_code == 409 and again.get_json()["message"] == rules.HAS_ACCOUNT
    assert invite_requests.people_with_accounts([person_key(OFFICER["email"])]) == {person_key(OFFICER["email"])}


def test_resend_is_allowed_once_a_day_and_only_when_emailed(invite, client, outbox):
    amy = as_user(client, "amy@tech.gov.sg")
    assert amy("POST", f"/api/v1/invites/{invite['id']}/resend").status_code == 409
    apply(changed(invite["id"], 1, "submitted", "approved", "approve"))
    apply(changed(invite["id"], 2, "approved", "account_created", "provision"))
    apply(changed(invite["id"], 3, "account_created", "emailed", "mark_emailed"))
    assert as_user(client, "zed@tech.gov.sg")("POST", f"/api/v1/invites/{invite['id']}/resend").status_code == 404
    assert amy("POST", f"/api/v1/invites/{invite['id']}/resend").status_code == 202
    again = amy("POST", f"/api/v1/invites/{invite['id']}/resend")
    assert again.status_code == 409 and "less than a day" in again.get_json()["message"]
    # a day later it is allowed again
    for entry in HistoryEntry.select().where(HistoryEntry.event == "resend_requested"):
        HistoryEntry.update(at=entry.at - dt.timedelta(days=1, minutes=1)).where(HistoryEntry.id == entry.id).execute()
    assert amy("POST", f"/api/v1/invites/{invite['id']}/resend").status_code == 202
    assert [m.message_type for m in outbox.pending()].count("invite.resend_requested") == 2
