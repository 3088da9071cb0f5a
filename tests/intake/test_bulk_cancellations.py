"""Cancelling many requests at once through the API: one result per request with the status its single
cancel would give, the same messages as the single cancel, each in its own transaction, never twice."""
import json
import uuid

import pytest

from intake.auth.identity import Caller
from intake.invites import service
from intake.models import InviteRequest
from tests.intake.test_history import apply, changed
from tests.support.callers import as_user

SQL = "the claim that takes a request for its cancellation is one SQL statement"
CANCELLATIONS = "/api/v1/invites/cancellations"
OFFICER = {"method": "email_invitation", "email": "jane@tech.gov.sg", "seed_onboarding": False, "reason": "New joiner"}


def invite(caller, email: str) -> str:
    response = caller("POST", "/api/v1/invites", json=OFFICER | {"email": email})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def cancellations(outbox) -> list[dict]:
    return [json.loads(r.body) for r in outbox.pending() if r.message_type == "invite.cancelled"]


def outcomes(response) -> list[tuple[int, str]]:
    assert response.status_code == 200, response.get_json()
    return [(r["status"], r["outcome"]) for r in response.get_json()["results"]]


@pytest.mark.both_databases(SQL)
def test_each_request_gets_the_status_of_its_single_cancel_and_words_for_what_became_of_it(amy, bob, client):
    zed = as_user(client, "zed@tech.gov.sg")
    pending = invite(amy, "p1@tech.gov.sg")
    being_cancelled = invite(amy, "p2@tech.gov.sg")
    amy("POST", f"/api/v1/invites/{being_cancelled}/cancel")
    being_approved = invite(amy, "p3@tech.gov.sg")
    bob("POST", f"/api/v1/invites/{being_approved}/approve", json={})
    being_rejected = invite(amy, "p4@tech.gov.sg")
    bob("POST", f"/api/v1/invites/{being_rejected}/reject", json={"reason": "Not needed"})
    sent = invite(amy, "p5@tech.gov.sg")
    for seq, (before, after, verb) in enumerate(
            [("submitted", "approved", "approve"), ("approved", "account_created", "provision"),
             ("account_created", "emailed", "mark_emailed")], 1):
        apply(changed(sent, seq, before, after, verb, {"username": "p5.tan"} if verb == "provision" else None))
    rejected = invite(amy, "p6@tech.gov.sg")
    apply(changed(rejected, 1, "submitted", "rejected", "reject"))
    cancelled = invite(amy, "p7@tech.gov.sg")
    apply(changed(cancelled, 1, "submitted", "cancelled", "cancel", actor="amy@tech.gov.sg"))
    expired = invite(amy, "p8@tech.gov.sg")
    apply(changed(expired, 1, "submitted", "expired", "expire"))
    someone_elses = invite(zed, "z1@tech.gov.sg")
    unknown = str(uuid.uuid4())

    ids = [pending, being_cancelled, being_approved, being_rejected, sent, rejected, cancelled, expired,
           someone_elses, unknown]
    response = amy("POST", CANCELLATIONS, json={"ids": ids})

    assert outcomes(response) == [
        (202, "cancel_accepted"), (409, "already_cancelled"), (409, "already_approved"), (409, "already_rejected"),
        (409, "already_approved"), (409, "already_rejected"), (409, "already_cancelled"), (409, "already_expired"),
        (404, "not_found"), (404, "not_found"),
    ]
    results = response.get_json()["results"]
    assert [r["id"] for r in results] == ids
    assert results[0]["error"] is None
    assert results[2]["error"] == "This request has already been approved."
    assert results[3]["error"] == "This request has already been rejected."
    assert results[7]["error"] == "This request expired before anyone decided on it."
    assert results[8]["error"] == results[9]["error"] == "No such request."
    assert InviteRequest.get_by_id(pending).pending_action == "cancel"
    assert InviteRequest.get_by_id(someone_elses).pending_action is None


def test_someone_elses_request_is_not_found_for_a_requester_and_refused_for_an_approver(amy, bob, client, outbox):
    mine = invite(amy, "p1@tech.gov.sg")
    zed = as_user(client, "zed@tech.gov.sg")
    assert outcomes(zed("POST", CANCELLATIONS, json={"ids": [mine]})) == [(404, "not_found")]
    # an approver may see every request, so hears why, as from the single cancel
    [result] = bob("POST", CANCELLATIONS, json={"ids": [mine]}).get_json()["results"]
    assert (result["status"], result["outcome"], result["error"]) == (
        403, "not_the_requester", "Only the requester can cancel a request.")
    assert bob("POST", f"/api/v1/invites/{mine}/cancel").status_code == 403
    assert cancellations(outbox) == []
    assert InviteRequest.get_by_id(mine).pending_action is None


@pytest.mark.both_databases(SQL)
def test_asking_again_cancels_nothing_twice(amy, outbox):
    ids = [invite(amy, f"p{n}@tech.gov.sg") for n in range(3)]
    assert outcomes(amy("POST", CANCELLATIONS, json={"ids": ids})) == [(202, "cancel_accepted")] * 3
    again = amy("POST", CANCELLATIONS, json={"ids": ids})
    assert outcomes(again) == [(409, "already_cancelled")] * 3
    assert again.get_json()["results"][0]["error"] == \
        "This request is already cancelled, or its cancellation is on its way."
    assert sorted(m["payload"]["request_id"] for m in cancellations(outbox)) == sorted(ids)
    # and once approval has applied them, asking again still cancels nothing
    for invite_id in ids:
        apply(changed(invite_id, 1, "submitted", "cancelled", "cancel", actor="amy@tech.gov.sg"))
    assert outcomes(amy("POST", CANCELLATIONS, json={"ids": ids})) == [(409, "already_cancelled")] * 3
    assert len(cancellations(outbox)) == 3


def test_a_bulk_cancel_leaves_what_the_single_cancel_leaves(amy, outbox):
    single, bulk = invite(amy, "p1@tech.gov.sg"), invite(amy, "p2@tech.gov.sg")
    assert amy("POST", f"/api/v1/invites/{single}/cancel").status_code == 202
    assert outcomes(amy("POST", CANCELLATIONS, json={"ids": [bulk]})) == [(202, "cancel_accepted")]
    by_request = {m["payload"]["request_id"]: m for m in cancellations(outbox)}
    for field in ("type", "version", "producer"):
        assert by_request[single][field] == by_request[bulk][field]
    assert by_request[bulk]["payload"] == {"request_id": bulk, "actor": "amy@tech.gov.sg"}
    assert by_request[bulk]["correlation_id"] == bulk
    for invite_id in (single, bulk):
        detail = amy("GET", f"/api/v1/invites/{invite_id}").get_json()
        # as for the single cancel, approval records the cancellation once, as it applies it
        assert [e["event"] for e in detail["history"]] == ["submit"]
        assert detail["pending_decision"] == "cancel"


def test_each_cancellation_is_its_own_transaction_so_a_failure_keeps_those_before_it(amy, outbox, app, monkeypatch):
    first, second, third = (invite(amy, f"p{n}@tech.gov.sg") for n in range(3))
    add = outbox.add

    def fail_on_the_second(message):
        if message.payload["request_id"] == second:
            raise RuntimeError("the database went away")
        add(message)

    monkeypatch.setattr(outbox, "add", fail_on_the_second)
    caller = Caller("amy@tech.gov.sg", frozenset({"requester"}))
    with app.app_context(), pytest.raises(RuntimeError):
        service.cancel_many([first, second, third], caller, outbox)
    assert InviteRequest.get_by_id(first).pending_action == "cancel"
    assert InviteRequest.get_by_id(second).pending_action is None  # its claim was undone with its message
    assert InviteRequest.get_by_id(third).pending_action is None
    assert [m["payload"]["request_id"] for m in cancellations(outbox)] == [first]
    # sending the same list again finishes the job without touching the first twice
    monkeypatch.setattr(outbox, "add", add)
    assert outcomes(amy("POST", CANCELLATIONS, json={"ids": [first, second, third]})) == [
        (409, "already_cancelled"), (202, "cancel_accepted"), (202, "cancel_accepted")]
    assert len(cancellations(outbox)) == 3


def test_up_to_two_hundred_requests_are_taken_at_once(amy):
    ids = [str(uuid.uuid4()) for _ in range(200)]
    assert outcomes(amy("POST", CANCELLATIONS, json={"ids": ids})) == [(404, "not_found")] * 200


@pytest.mark.parametrize("body, field, message", [
    ({}, "ids", "Give the list of request ids."),
    ({"ids": []}, "ids", "Give between 1 and 200 request ids."),
    ({"ids": [str(uuid.uuid4()) for _ in range(201)]}, "ids", "Give between 1 and 200 request ids."),
    ({"ids": "all"}, "ids", "Give the request ids as a list."),
    ({"ids": {"id": "a"}}, "ids", "Give the request ids as a list."),
    ({"ids": ["a"], "reason": "No longer needed"}, "reason", "This field is not accepted; remove it."),
    ({"ids": ["a"], "all": True}, "all", "This field is not accepted; remove it."),
])
def test_a_body_that_is_wrong_is_refused_naming_the_field_and_cancels_nothing(amy, outbox, body, field, message):
    mine = invite(amy, "p1@tech.gov.sg")
    if body.get("ids") == ["a"]:
        body = body | {"ids": [mine]}
    response = amy("POST", CANCELLATIONS, json=body)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert list(errors) == [field] and errors[field] == [message]
    assert cancellations(outbox) == []


@pytest.mark.parametrize("bad_id, message", [
    ("", "Request id is required."),
    ("a\u0000b", "Request id must not contain line breaks, tabs or hidden characters."),
    (7, "Request id must be text."),
    ("x" * 65, "Request id must be 64 characters or fewer."),
])
def test_an_id_that_is_not_text_an_id_can_be_is_refused_by_its_place_in_the_list(amy, outbox, bad_id, message):
    mine = invite(amy, "p1@tech.gov.sg")
    response = amy("POST", CANCELLATIONS, json={"ids": [mine, bad_id]})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"ids": {"1": [message]}}
    assert cancellations(outbox) == []


def test_a_request_named_twice_is_refused_by_the_second_place(amy, outbox):
    mine = invite(amy, "p1@tech.gov.sg")
    response = amy("POST", CANCELLATIONS, json={"ids": [mine, f" {mine} "]})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"ids": {"1": ["This request is already in this list."]}}
    assert cancellations(outbox) == []


@pytest.mark.parametrize("body", [b"not json", b"[1,2]"])
def test_a_body_that_is_not_a_json_object_is_a_422(amy, body):
    assert amy("POST", CANCELLATIONS, data=body, content_type="application/json").status_code == 422


def test_only_someone_who_may_request_may_cancel_in_bulk(client):
    assert client.post(CANCELLATIONS, json={"ids": [str(uuid.uuid4())]}).status_code == 401
    for who in ("carol@tech.gov.sg", "eve@example.com"):  # an auditor; someone outside the organisation
        assert as_user(client, who)("POST", CANCELLATIONS, json={"ids": [str(uuid.uuid4())]}).status_code == 403


def test_the_document_describes_the_operation_as_it_answers(client):
    document = client.get("/api/openapi.json").get_json()
    operation = document["paths"][CANCELLATIONS]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    schemas = document["components"]["schemas"]
    request_schema = schemas[body["$ref"].rsplit("/", 1)[1]]
    assert request_schema["required"] == ["ids"] and request_schema["additionalProperties"] is False
    ids = request_schema["properties"]["ids"]
    assert (ids["minItems"], ids["maxItems"], ids["uniqueItems"]) == (1, 200, True)
    assert ids["items"]["format"] == "uuid"
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    results = schemas[answer["$ref"].rsplit("/", 1)[1]]["properties"]["results"]["items"]
    result = schemas[results["$ref"].rsplit("/", 1)[1]]
    assert set(result["required"]) == {"id", "status", "outcome", "error"}
    assert sorted(result["properties"]["status"]["enum"]) == [202, 403, 404, 409]
    assert set(result["properties"]["outcome"]["enum"]) == {
        "cancel_accepted", "already_cancelled", "already_approved", "already_rejected", "already_expired",
        "no_longer_pending", "not_found", "not_the_requester"}
    assert {"200", "422"} <= set(operation["responses"])
    for outcome in result["properties"]["outcome"]["enum"]:
        assert f"`{outcome}`" in operation["description"]
