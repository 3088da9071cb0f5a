"""A new request may repeat one of its requester's requests that ended without the invitation: the API
checks the one it names, and both histories (what the requester, approvers and auditors read) link
the two requests."""
import json

import pytest

from invite_common.db import utcnow

from intake import history
from intake.models import HistoryEntry, InviteRequest
from tests.support.callers import as_user

OFFICER = {"method": "email_invitation", "email": "jane@tech.gov.sg", "seed_onboarding": False, "reason": "New joiner"}


def submitted(caller, body=OFFICER) -> str:
    response = caller("POST", "/api/v1/invites", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def end(invite_id, state, verb, note=""):
    """Move the request as the history consumer would on approval's event."""
    invite = InviteRequest.get_by_id(invite_id)
    history.append(invite_id, verb, actor="bob@tech.gov.sg", at=utcnow(), from_state=invite.state, to_state=state,
                   note=note, source_seq=invite.state_seq + 1)
    open_email = invite.open_email if state == "failed" else None
    InviteRequest.update(state=state, state_seq=invite.state_seq + 1, open_email=open_email).where(
        InviteRequest.id == invite_id).execute()


def entries(caller, invite_id):
    return caller("GET", f"/api/v1/invites/{invite_id}").get_json()["history"]


def test_a_rejected_request_asked_for_again_is_linked_both_ways_in_the_history(amy, outbox):
    earlier = submitted(amy)
    end(earlier, "rejected", "reject", note="Use the team mailbox")
    response = amy("POST", "/api/v1/invites", json=OFFICER | {"repeats": earlier, "reason": "Joining the data team"})
    assert response.status_code == 201, response.get_json()
    later = response.get_json()["id"]

    [submit] = [e for e in response.get_json()["history"] if e["event"] == "submit"]
    assert submit["details"] == {"method": "email_invitation", "repeats": earlier}
    linked = entries(amy, earlier)[-1]
    assert (linked["event"], linked["details"], linked["actor"]) == ("requested_again", {"repeated_as": later}, "amy@tech.gov.sg")
    # the earlier request stays as it ended
    assert linked["from_state"] == linked["to_state"] == "rejected"
    assert InviteRequest.get_by_id(earlier).state == "rejected"
    # the links are entries of the one history the auditors read (and the chain covers)
    recorded = {(e.request_id, e.event): json.loads(e.details) for e in HistoryEntry.select()}
    assert recorded[(later, "submit")]["repeats"] == earlier
    assert recorded[(earlier, "requested_again")] == {"repeated_as": later}


@pytest.mark.parametrize(("state", "verb"), [("cancelled", "cancel"), ("expired", "expire"), ("closed", "close")])
def test_every_request_that_ended_without_its_invitation_may_be_asked_for_again(amy, state, verb):
    earlier = submitted(amy)
    end(earlier, state, verb)
    assert amy("POST", "/api/v1/invites", json=OFFICER | {"repeats": earlier}).status_code == 201


def test_a_request_still_waiting_or_sent_cannot_be_repeated(amy):
    waiting = submitted(amy)
    response = amy("POST", "/api/v1/invites", json=OFFICER | {"email": "kim@tech.gov.sg", "repeats": waiting})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"repeats": [
        "Only a request that ended without its invitation (rejected, cancelled, expired, failed or closed) "
        "can be asked for again; this one is submitted."]}
    assert InviteRequest.select().count() == 1 and [e["event"] for e in entries(amy, waiting)] == ["submit"]


def test_another_requesters_request_is_refused_as_if_it_did_not_exist(amy, client):
    zed = as_user(client, "zed@tech.gov.sg")
    theirs = submitted(zed)
    end(theirs, "rejected", "reject")
    unknown = "00000000-0000-4000-8000-000000000000"
    for repeats in (theirs, unknown):
        response = amy("POST", "/api/v1/invites", json=OFFICER | {"email": "kim@tech.gov.sg", "repeats": repeats})
        assert response.status_code == 422
        assert response.get_json()["errors"] == {"repeats": ["None of your requests has this id."]}
    assert [e["event"] for e in entries(zed, theirs)] == ["submit", "reject"]


def test_repeats_must_be_a_request_id(amy):
    response = amy("POST", "/api/v1/invites", json=OFFICER | {"repeats": "yesterday's"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"repeats": ["Give the id of the earlier request this one repeats."]}


def test_the_openapi_document_describes_repeats_in_every_shape_of_the_body(client):
    document = client.get("/api/openapi.json").get_json()
    body = document["paths"]["/api/v1/invites"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]] if "$ref" in body else body
    for shape in schema["oneOf"]:
        assert shape["properties"]["repeats"]["format"] == "uuid", shape["title"]
        assert "repeats" not in shape["required"]
    assert "`repeats`" in document["paths"]["/api/v1/invites"]["post"]["description"]
