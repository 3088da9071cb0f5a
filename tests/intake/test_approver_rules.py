"""The rules of who may invite and decide, through the API: self-invitation, the invitee as approver,
one account per person, conflicts that name no other requester's request, one history entry per decision."""
import datetime as dt
import json

import pytest

from intake.db import database
from intake.models import InviteRequest
from tests.support.callers import as_user
from tests.intake.test_history import apply, changed

# why the database matters to the tests marked with it
SQL = "the queue's cursors and filters, and the open-request lookup, are SQL"

OFFICER = {"method": "email_invitation", "email": "jane@tech.gov.sg", "seed_onboarding": False, "reason": "New joiner"}


def decisions(outbox):
    return [json.loads(r.body) for r in outbox.pending() if r.message_type == "approval.decide"]


def test_a_requester_cannot_invite_themselves(amy):
    response = amy("POST", "/api/v1/invites", json=OFFICER | {"email": "AMY@tech.gov.sg"})
    assert response.status_code == 422
    assert response.get_json()["errors"]["email"] == ["You cannot invite yourself. Ask a colleague to request your account."]


def test_an_approver_cannot_decide_on_an_invitation_of_themselves(amy, bob, outbox):
    invite = amy("POST", "/api/v1/invites", json=OFFICER | {"email": "bob@tech.gov.sg"}).get_json()
    assert bob("POST", f"/api/v1/invites/{invite['id']}/approve", json={}).status_code == 403
    assert bob("POST", f"/api/v1/invites/{invite['id']}/reject", json={"reason": "no"}).status_code == 403
    results = bob("POST", "/api/v1/approvals/decisions",
                  json={"decisions": [{"id": invite["id"], "decision": "approve"}]}).get_json()["results"]
    assert results == [{"id": invite["id"], "status": 403, "outcome": "own_invitation",
                        "error": "You cannot decide on an invitation of yourself."}]
    assert decisions(outbox) == []
    assert [i["id"] for i in bob("GET", "/api/v1/approvals").get_json()["items"]] == []


def test_bulk_results_say_what_became_of_each_request(amy, bob, client):
    mine = bob("POST", "/api/v1/invites", json=OFFICER | {"email": "ken@tech.gov.sg"}).get_json()
    first = amy("POST", "/api/v1/invites", json=OFFICER).get_json()
    taken = amy("POST", "/api/v1/invites", json=OFFICER | {"email": "lee@tech.gov.sg"}).get_json()
    as_user(client, "dana@tech.gov.sg")("POST", f"/api/v1/invites/{taken['id']}/approve", json={})
    body = {"decisions": [{"id": first["id"], "decision": "approve"}, {"id": taken["id"], "decision": "approve"},
                          {"id": mine["id"], "decision": "approve"}, {"id": "nope", "decision": "reject", "reason": "x"}]}
    results = bob("POST", "/api/v1/approvals/decisions", json=body).get_json()["results"]
    assert [(r["status"], r["outcome"]) for r in results] == [
        (202, "decided"), (409, "already_decided"), (403, "own_request"), (404, "not_found")]


def test_a_decision_is_one_history_entry_recorded_as_approval_applies_it(amy, bob):
    invite = amy("POST", "/api/v1/invites", json=OFFICER).get_json()
    assert bob("POST", f"/api/v1/invites/{invite['id']}/approve", json={"comment": "ok"}).status_code == 202
    detail = amy("GET", f"/api/v1/invites/{invite['id']}").get_json()
    assert [e["event"] for e in detail["history"]] == ["submit"] and detail["pending_decision"] == "approve"
    apply(changed(invite["id"], 1, "submitted", "approved", "approve"))
    detail = amy("GET", f"/api/v1/invites/{invite['id']}").get_json()
    assert [e["event"] for e in detail["history"]] == ["submit", "approve"]


def test_a_cancellation_is_one_history_entry_recorded_as_approval_applies_it(amy):
    invite = amy("POST", "/api/v1/invites", json=OFFICER).get_json()
    assert amy("POST", f"/api/v1/invites/{invite['id']}/cancel").status_code == 202
    detail = amy("GET", f"/api/v1/invites/{invite['id']}").get_json()
    assert [e["event"] for e in detail["history"]] == ["submit"] and detail["pending_decision"] == "cancel"
    apply(changed(invite["id"], 1, "submitted", "cancelled", "cancel"))
    detail = amy("GET", f"/api/v1/invites/{invite['id']}").get_json()
    assert [e["event"] for e in detail["history"]] == ["submit", "cancel"] and detail["state"] == "cancelled"


def emailed(invite_id):
    apply(changed(invite_id, 1, "submitted", "approved", "approve"))
    apply(changed(invite_id, 2, "approved", "account_created", "provision", {"username": "jane"}))
    apply(changed(invite_id, 3, "account_created", "emailed", "mark_emailed"))


@pytest.mark.both_databases(SQL)
def test_someone_who_already_has_an_account_is_refused_at_submit(amy, client):
    invite = amy("POST", "/api/v1/invites", json=OFFICER).get_json()
    emailed(invite["id"])
    again = amy("POST", "/api/v1/invites", json=OFFICER)
    assert again.status_code == 409
    assert "already has a TechPass account" in again.get_json()["message"]
    assert again.get_json()["existing_id"] == invite["id"]
    # another requester learns the person has an account, not which request made it
    other = as_user(client, "zed@tech.gov.sg")("POST", "/api/v1/invites", json=OFFICER | {"reason": "Again"})
    assert other.status_code == 409 and "existing_id" not in other.get_json()


@pytest.mark.both_databases(SQL)
def test_a_closed_request_without_an_account_does_not_block_a_new_one(amy):
    invite = amy("POST", "/api/v1/invites", json=OFFICER).get_json()
    apply(changed(invite["id"], 1, "submitted", "rejected", "reject"))
    assert amy("POST", "/api/v1/invites", json=OFFICER).status_code == 201


def test_the_open_request_conflict_names_the_request_only_to_who_may_open_it(amy, client):
    first = amy("POST", "/api/v1/invites", json=OFFICER).get_json()
    other = as_user(client, "zed@tech.gov.sg")("POST", "/api/v1/invites", json=OFFICER)
    assert other.status_code == 409 and "existing_id" not in other.get_json()
    approver = as_user(client, "dana@tech.gov.sg")("POST", "/api/v1/invites", json=OFFICER)
    assert approver.status_code == 409 and approver.get_json()["existing_id"] == first["id"]


@pytest.mark.both_databases(SQL)
def test_the_queue_pages_by_cursor_with_a_total_and_each_expiry(amy, client, bob):
    ids = [amy("POST", "/api/v1/invites", json=OFFICER | {"email": f"p{n}@tech.gov.sg"}).get_json()["id"] for n in range(5)]
    seen, cursor, total = [], None, None
    while True:
        page = bob("GET", "/api/v1/approvals", query_string={"limit": 2} | ({"cursor": cursor} if cursor else {})).get_json()
        total = page["total"]
        seen += [i["id"] for i in page["items"]]
        for item in page["items"]:
            created = dt.datetime.fromisoformat(item["created_at"])
            assert dt.datetime.fromisoformat(item["expires_at"]) - created == dt.timedelta(days=14)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids and total == 5


@pytest.mark.both_databases(SQL)
def test_the_queue_filters_like_the_page(amy, client, bob):
    dana = as_user(client, "dana@tech.gov.sg")
    amy("POST", "/api/v1/invites", json=OFFICER | {"email": "seed.one@tech.gov.sg", "seed_onboarding": True})
    amy("POST", "/api/v1/invites", json=OFFICER | {"email": "plain@tech.gov.sg"})
    dana("POST", "/api/v1/invites", json=OFFICER | {"email": "from.dana@tech.gov.sg"})
    old = amy("POST", "/api/v1/invites", json=OFFICER | {"email": "old@tech.gov.sg"}).get_json()
    with database.atomic():
        InviteRequest.update(created_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=5)).where(
            InviteRequest.id == old["id"]).execute()

    def emails(**args):
        body = bob("GET", "/api/v1/approvals", query_string=args).get_json()
        assert body["total"] == len(body["items"])
        return sorted(i["email"] for i in body["items"])

    assert emails(seed="true") == ["seed.one@tech.gov.sg"]
    assert emails(requester="DANA@tech.gov.sg") == ["from.dana@tech.gov.sg"]
    assert emails(email="ONE") == ["seed.one@tech.gov.sg"]
    assert emails(older_than_days=3) == ["old@tech.gov.sg"]
    assert emails(method="create_account") == []
    assert len(emails()) == 4


@pytest.mark.parametrize("args,field", [({"limit": 0}, "limit"), ({"cursor": "!!"}, "cursor"),
                                        ({"seed": "maybe"}, "seed"), ({"sort": "x"}, "sort"),
                                        ({"older_than_days": -1}, "older_than_days"),
                                        ({"requester": "d" * 255}, "requester")])
def test_a_bad_queue_argument_is_a_422_naming_it(bob, args, field):
    response = bob("GET", "/api/v1/approvals", query_string=args)
    assert response.status_code == 422 and field in response.get_json()["errors"]


def test_batch_rows_follow_the_same_rules(amy, client):
    from tests.support.spreadsheets import OFFICER_ROW, csv_bytes

    held = amy("POST", "/api/v1/invites", json=OFFICER | {"email": "held@tech.gov.sg"}).get_json()
    emailed(held["id"])
    as_user(client, "zed@tech.gov.sg")("POST", "/api/v1/invites", json=OFFICER | {"email": "open@tech.gov.sg"})
    rows = [OFFICER_ROW | {"email": e} for e in ("amy@tech.gov.sg", "held@tech.gov.sg", "open@tech.gov.sg", "new@tech.gov.sg")]
    draft = amy("POST", "/api/v1/batches", data={"file": (__import__("io").BytesIO(csv_bytes(rows)), "b.csv")},
                content_type="multipart/form-data").get_json()
    errors = [r["errors"].get("email") for r in draft["rows"]]
    assert errors == [["You cannot invite yourself. Ask a colleague to request your account."],
                      ["This person already has a TechPass account: they can sign in with it, no new invitation is needed."],
                      ["An open request for this email already exists."], None]
