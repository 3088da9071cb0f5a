"""`amy+x@tech.gov.sg` reaches amy's mailbox, so intake treats it as amy wherever it asks "is this the
same person": self-invitation, separation of duties, one open request and one account per person,
within a batch and against open requests. Mail still goes to the address as typed."""
import io

from intake.db import database
from intake.models import InviteRequest
from tests.support.callers import as_user
from tests.intake.test_approver_rules import OFFICER, decisions, emailed

SELF = ["You cannot invite yourself. Ask a colleague to request your account."]


def test_a_requester_cannot_invite_themselves_at_a_tagged_address(amy, client):
    for address in ("amy+x@tech.gov.sg", "AMY+Second.Mailbox@Tech.gov.sg"):
        response = amy("POST", "/api/v1/invites", json=OFFICER | {"email": address})
        assert response.status_code == 422, address
        assert response.get_json()["errors"]["email"] == SELF
    # a tagged requester is the same person as the untagged invitee
    tagged = as_user(client, "zed+work@tech.gov.sg")("POST", "/api/v1/invites", json=OFFICER | {"email": "zed@tech.gov.sg"})
    assert tagged.status_code == 422 and tagged.get_json()["errors"]["email"] == SELF
    # dots are not folded: a.my is someone else
    assert amy("POST", "/api/v1/invites", json=OFFICER | {"email": "a.my+x@tech.gov.sg"}).status_code == 201


def test_an_approver_cannot_decide_an_invitation_of_themselves_at_a_tagged_address(amy, bob, client, outbox):
    invite = amy("POST", "/api/v1/invites", json=OFFICER | {"email": "bob+x@tech.gov.sg"}).get_json()
    assert invite["email"] == "bob+x@tech.gov.sg"  # mail goes where it was typed
    assert bob("POST", f"/api/v1/invites/{invite['id']}/approve", json={}).status_code == 403
    assert bob("POST", f"/api/v1/invites/{invite['id']}/reject", json={"reason": "no"}).status_code == 403
    results = bob("POST", "/api/v1/approvals/decisions",
                  json={"decisions": [{"id": invite["id"], "decision": "approve"}]}).get_json()["results"]
    assert [(r["status"], r["outcome"]) for r in results] == [(403, "own_invitation")]
    assert bob("GET", "/api/v1/approvals").get_json()["total"] == 0
    assert decisions(outbox) == []
    # nor on a request made from one of their other addresses
    mine = as_user(client, "bob+team@tech.gov.sg")("POST", "/api/v1/invites", json=OFFICER | {"email": "ken@tech.gov.sg"})
    assert bob("POST", f"/api/v1/invites/{mine.get_json()['id']}/approve", json={}).status_code == 403
    assert [i["email"] for i in as_user(client, "dana@tech.gov.sg")("GET", "/api/v1/approvals").get_json()["items"]] == [
        "bob+x@tech.gov.sg", "ken@tech.gov.sg"]
    assert as_user(client, "dana@tech.gov.sg")("POST", f"/api/v1/invites/{invite['id']}/approve", json={}).status_code == 202


def test_one_open_request_per_person_whatever_the_tag(amy, client):
    first = amy("POST", "/api/v1/invites", json=OFFICER | {"email": "jane+first@tech.gov.sg"}).get_json()
    for address in ("jane@tech.gov.sg", "jane+second@tech.gov.sg", "JANE+First@tech.gov.sg"):
        again = as_user(client, "zed@tech.gov.sg")("POST", "/api/v1/invites", json=OFFICER | {"email": address})
        assert again.status_code == 409, address
        assert again.get_json()["message"] == "An open request for this email already exists."
    assert as_user(client, "dana@tech.gov.sg")("POST", "/api/v1/invites", json=OFFICER).get_json()["existing_id"] == first["id"]
    with database.atomic():
        stored = InviteRequest.get_by_id(first["id"])
    assert (stored.email, stored.invitee_key, stored.open_email) == (
        "jane+first@tech.gov.sg", "jane@tech.gov.sg", "jane@tech.gov.sg")


def test_one_account_per_person_whatever_the_tag(amy, client):
    invite = amy("POST", "/api/v1/invites", json=OFFICER).get_json()
    emailed(invite["id"])
    again = amy("POST", "/api/v1/invites", json=OFFICER | {"email": "jane+again@tech.gov.sg"})
    assert again.status_code == 409 and "already has a TechPass account" in again.get_json()["message"]
    assert again.get_json()["existing_id"] == invite["id"]


def test_an_approver_sees_earlier_requests_for_the_same_person_at_another_address(amy):
    from intake.approvals import decision_context
    from tests.intake.test_history import apply, changed

    old = amy("POST", "/api/v1/invites", json=OFFICER).get_json()
    apply(changed(old["id"], 1, "submitted", "rejected", "reject"))
    tagged = amy("POST", "/api/v1/invites", json=OFFICER | {"email": "jane+2@tech.gov.sg"}).get_json()
    amy("POST", "/api/v1/invites", json=OFFICER | {"email": "janet@tech.gov.sg"})
    with database.atomic():
        earlier = decision_context.earlier_requests(InviteRequest.get_by_id(tagged["id"]))
    assert [e.id for e in earlier] == [old["id"]]


def test_batch_rows_compare_people_with_each_other_and_with_open_requests(amy, client):
    from tests.support.spreadsheets import OFFICER_ROW, csv_bytes

    as_user(client, "zed@tech.gov.sg")("POST", "/api/v1/invites", json=OFFICER | {"email": "open@tech.gov.sg"})
    rows = [OFFICER_ROW | {"email": e} for e in (
        "amy+batch@tech.gov.sg", "open+1@tech.gov.sg", "kim@tech.gov.sg", "kim+2@tech.gov.sg", "new@tech.gov.sg")]
    draft = amy("POST", "/api/v1/batches", data={"file": (io.BytesIO(csv_bytes(rows)), "b.csv")},
                content_type="multipart/form-data").get_json()
    errors = [r["errors"].get("email") for r in draft["rows"]]
    assert errors == [SELF, ["An open request for this email already exists."],
                      ["Also on row 5."], ["Also on row 4."], None]
    refused = amy("POST", f"/api/v1/batches/{draft['id']}/submit")
    assert refused.status_code == 422
    for row in (2, 3, 4):
        assert amy("DELETE", f"/api/v1/batches/{draft['id']}/rows/{row}").status_code in (200, 204)
    submitted = amy("POST", f"/api/v1/batches/{draft['id']}/submit")
    assert submitted.status_code == 201, submitted.get_json()
    [kim, new] = [amy("GET", f"/api/v1/invites/{i}").get_json()["email"] for i in submitted.get_json()["invites"]]
    assert (kim, new) == ("kim+2@tech.gov.sg", "new@tech.gov.sg")
    listed = amy("GET", "/api/v1/invites", query_string={"batch": draft["id"]}).get_json()["items"]
    assert sorted(i["email"] for i in listed) == ["kim+2@tech.gov.sg", "new@tech.gov.sg"]
    from intake.invites import queries

    with database.atomic():
        in_order = queries.in_file_order(queries.filtered(InviteRequest.select(), batch=draft["id"]), draft["id"])
        assert [(i.email, i.file_row) for i in in_order] == [("kim+2@tech.gov.sg", 5), ("new@tech.gov.sg", 6)]
