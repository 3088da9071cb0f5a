"""The invites API on a real database: status codes, errors per field, and what goes to the outbox."""
import json
import threading

import pytest

from intake.models import InviteRequest
from tests.support.callers import as_user

# why the database matters to the tests marked with it
SQL = "claims, unique open requests, cursors and address filters are SQL"

OFFICER = {"method": "email_invitation", "email": "jane@tech.gov.sg", "seed_onboarding": False, "reason": "New joiner"}
VENDOR = {
    "method": "create_account", "email": "vic@vendor.example.com", "user_type": "vendor", "username": "v-vic.lim",
    "first_name": "Vic", "last_name": "Lim", "contact_number": "91234567", "organisation": "Example Pte Ltd",
    "seed_onboarding": False, "reason": "Contractor",
}


def outbox_messages(outbox):
    return [json.loads(r.body) for r in outbox.pending()]


def test_submission_is_stored_with_its_message_in_the_outbox(amy, outbox):
    response = amy("POST", "/api/v1/invites", json=VENDOR)
    assert response.status_code == 201
    body = response.get_json()
    assert body["state"] == "submitted" and body["contact_number"] == "+6591234567"
    [message] = outbox_messages(outbox)
    assert message["type"] == "invite.submitted" and message["correlation_id"] == body["id"]
    # approval needs no reason: it stays in intake; the phone number goes to the directory's user
    assert "reason" not in message["payload"]
    assert message["payload"]["contact_number"] == "+6591234567"


def test_unknown_field_is_refused_by_name(amy, outbox):
    response = amy("POST", "/api/v1/invites", json=OFFICER | {"is_admin": True})
    assert response.status_code == 422
    assert "is_admin" in response.get_json()["errors"]
    assert outbox_messages(outbox) == []


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_gets_422_not_500(amy, body):
    response = amy("POST", "/api/v1/invites", data=body, content_type="application/json")
    assert response.status_code == 422


def test_caller_without_identity_gets_401(client):
    assert client.post("/api/v1/invites", json=OFFICER).status_code == 401


def test_someone_outside_the_organisation_cannot_request(client):
    response = as_user(client, "eve@example.com")("POST", "/api/v1/invites", json=OFFICER)
    assert response.status_code == 403


@pytest.mark.both_databases(SQL)
def test_idempotency_key_replays_the_first_answer(amy, outbox):
    first = amy("POST", "/api/v1/invites", json=OFFICER, headers={"Idempotency-Key": "k-1"})
    again = amy("POST", "/api/v1/invites", json=OFFICER, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201 and again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert len(outbox_messages(outbox)) == 1
    other = amy("POST", "/api/v1/invites", json=OFFICER | {"reason": "different"}, headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["errors"]


@pytest.mark.both_databases(SQL)
def test_second_open_request_for_an_email_is_409_with_the_existing_id(amy):
    first = amy("POST", "/api/v1/invites", json=OFFICER).get_json()
    response = amy("POST", "/api/v1/invites", json=OFFICER | {"email": "JANE@tech.gov.sg"})
    assert response.status_code == 409
    assert response.get_json()["existing_id"] == first["id"]


def test_vendor_username_taken_by_an_open_request_is_a_field_error(amy):
    amy("POST", "/api/v1/invites", json=VENDOR)
    response = amy("POST", "/api/v1/invites", json=VENDOR | {"email": "other@vendor.example.com", "username": "V-VIC.LIM"})
    assert response.status_code == 422
    assert "username" in response.get_json()["errors"]


def test_a_vendor_username_a_public_officer_could_be_given_is_refused_naming_username(amy):
    # john.tan is what john.tan@tech.gov.sg would be given: held by a vendor, the officer would become john.tan2
    response = amy("POST", "/api/v1/invites", json=VENDOR | {"username": "john.tan"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"username": [
        "A vendor's TechPass username starts with v-, so it can never be the one a public officer is given "
        "from their email: for example v-john.tan."]}
    assert amy("POST", "/api/v1/invites", json=VENDOR | {"username": "V-John.Tan"}).status_code == 201


def test_requester_cannot_approve_own_request(client, outbox):
    bob = as_user(client, "bob@tech.gov.sg")
    invite = bob("POST", "/api/v1/invites", json=OFFICER).get_json()
    assert bob("POST", f"/api/v1/invites/{invite['id']}/approve", json={}).status_code == 403
    assert InviteRequest.get_by_id(invite["id"]).pending_action is None
    assert [m["type"] for m in outbox_messages(outbox)] == ["invite.submitted"]


def test_only_approvers_can_decide(amy, client):
    invite = amy("POST", "/api/v1/invites", json=OFFICER).get_json()
    other = as_user(client, "zed@tech.gov.sg")
    assert other("POST", f"/api/v1/invites/{invite['id']}/approve", json={}).status_code == 403
    assert other("GET", "/api/v1/approvals").status_code == 403


def test_second_decision_on_the_same_request_is_409(amy, bob, client, outbox):
    invite = amy("POST", "/api/v1/invites", json=OFFICER).get_json()
    assert bob("POST", f"/api/v1/invites/{invite['id']}/approve", json={"comment": "ok"}).status_code == 202
    dana = as_user(client, "dana@tech.gov.sg")
    assert dana("POST", f"/api/v1/invites/{invite['id']}/reject", json={"reason": "no"}).status_code == 409
    decisions = [m for m in outbox_messages(outbox) if m["type"] == "approval.decide"]
    assert len(decisions) == 1 and decisions[0]["payload"]["actor"] == "bob@tech.gov.sg"


@pytest.mark.both_databases(SQL)
def test_concurrent_decisions_let_exactly_one_in(app, amy):
    invite = amy("POST", "/api/v1/invites", json=OFFICER).get_json()
    barrier, statuses = threading.Barrier(4), []

    def decide(user, path, body):
        client = app.test_client()
        barrier.wait()
        statuses.append(as_user(client, user)("POST", f"/api/v1/invites/{invite['id']}/{path}", json=body).status_code)

    threads = [
        threading.Thread(target=decide, args=(u, p, b))
        for u, p, b in [
            ("bob@tech.gov.sg", "approve", {}), ("dana@tech.gov.sg", "approve", {}),
            ("bob@tech.gov.sg", "reject", {"reason": "x"}), ("dana@tech.gov.sg", "reject", {"reason": "y"}),
        ]
    ]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(statuses) == [202, 409, 409, 409]


def test_cancel_only_by_the_requester_and_only_while_pending(amy, bob, client):
    invite = amy("POST", "/api/v1/invites", json=OFFICER).get_json()
    assert as_user(client, "zed@tech.gov.sg")("POST", f"/api/v1/invites/{invite['id']}/cancel").status_code == 404
    assert amy("POST", f"/api/v1/invites/{invite['id']}/cancel").status_code == 202
    assert amy("POST", f"/api/v1/invites/{invite['id']}/cancel").status_code == 409
    assert bob("POST", f"/api/v1/invites/{invite['id']}/approve", json={}).status_code == 409


def test_requesters_see_only_their_own_requests(amy, client):
    invite = amy("POST", "/api/v1/invites", json=OFFICER).get_json()
    zed = as_user(client, "zed@tech.gov.sg")
    assert zed("GET", f"/api/v1/invites/{invite['id']}").status_code == 404
    assert zed("GET", "/api/v1/invites").get_json()["items"] == []
    carol = as_user(client, "carol@tech.gov.sg")
    assert carol("GET", f"/api/v1/invites/{invite['id']}").status_code == 200


@pytest.mark.both_databases(SQL)
def test_list_is_paginated_by_cursor_and_filters_are_checked(amy):
    for n in range(5):
        amy("POST", "/api/v1/invites", json=OFFICER | {"email": f"p{n}@tech.gov.sg"})
    page = amy("GET", "/api/v1/invites?limit=2").get_json()
    seen = [i["id"] for i in page["items"]]
    while page["next_cursor"]:
        page = amy("GET", f"/api/v1/invites?limit=2&cursor={page['next_cursor']}").get_json()
        seen += [i["id"] for i in page["items"]]
    assert len(seen) == len(set(seen)) == 5
    assert amy("GET", "/api/v1/invites?colour=red").status_code == 422
    assert amy("GET", "/api/v1/invites?cursor=%%%").status_code == 422


@pytest.mark.parametrize("args,field", [({"state": "pending"}, "state"), ({"requester": "amy"}, "requester"),
                                        ({"email": "p0 at tech.gov.sg"}, "email")])
def test_a_list_filter_the_document_does_not_allow_is_a_422_naming_it(amy, args, field):
    response = amy("GET", "/api/v1/invites", query_string=args)
    assert response.status_code == 422 and field in response.get_json()["errors"]


@pytest.mark.both_databases(SQL)
def test_the_address_filters_match_an_address_however_it_is_written(amy):
    amy("POST", "/api/v1/invites", json=OFFICER | {"email": "p0@tech.gov.sg"})
    assert len(amy("GET", "/api/v1/invites", query_string={"email": "P0@Tech.Gov.SG"}).get_json()["items"]) == 1
    assert len(amy("GET", "/api/v1/invites", query_string={"requester": "AMY@tech.gov.sg"}).get_json()["items"]) == 1


def test_bulk_decisions_give_each_item_its_single_call_status(amy, bob, client):
    mine = amy("POST", "/api/v1/invites", json=OFFICER).get_json()
    bobs = bob("POST", "/api/v1/invites", json=OFFICER | {"email": "b2@tech.gov.sg"}).get_json()
    response = bob("POST", "/api/v1/approvals/decisions", json={"decisions": [
        {"id": mine["id"], "decision": "approve"},
        {"id": bobs["id"], "decision": "approve"},
        {"id": "nope", "decision": "reject", "reason": "x"},
    ]})
    assert response.status_code == 200
    assert [r["status"] for r in response.get_json()["results"]] == [202, 403, 404]


@pytest.mark.both_databases(SQL)
def test_approval_queue_is_oldest_first_and_excludes_own_and_decided(amy, bob, client):
    ids = [amy("POST", "/api/v1/invites", json=OFFICER | {"email": f"q{n}@tech.gov.sg"}).get_json()["id"] for n in range(3)]
    bob("POST", "/api/v1/invites", json=OFFICER | {"email": "own@tech.gov.sg"})
    as_user(client, "dana@tech.gov.sg")("POST", f"/api/v1/invites/{ids[1]}/approve", json={})
    queue = bob("GET", "/api/v1/approvals").get_json()["items"]
    assert [i["id"] for i in queue] == [ids[0], ids[2]]


def test_openapi_document_describes_the_invite_routes(client):
    spec = client.get("/api/openapi.json").get_json()
    assert "/api/v1/invites" in spec["paths"] and "/api/v1/invites/{invite_id}/approve" in spec["paths"]
    assert "InviteRequest" in spec["components"]["schemas"]


def test_interactive_api_docs_are_served_from_the_project_itself(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/docs/static/swagger-ui-bundle.js" in html and "/api/openapi.json" in html
    assert "//cdn" not in html and "unpkg" not in html
    script = client.get("/api/docs/static/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.data) > 100_000
    script.close()
