"""Stand-ins through the API: an approver names one for a period, the stand-in decides the approver's requests
for them (on_behalf_of), separation of duties holds for both people, and an ended stand-in decides nothing."""
import datetime as dt
import json

import pytest

from intake.db import database
from intake.models import RoleGrant
from tests.support.callers import as_user

OFFICER = {"method": "email_invitation", "email": "jane@tech.gov.sg", "seed_onboarding": False, "reason": "New joiner"}
DAVE = "dave@tech.gov.sg"
# why the database matters to the tests marked with it
SQL = "a stand-in's queue is the approver's, read in SQL"


def moment(**delta) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(**delta)).isoformat()


def a_week(stand_in=DAVE, **changes) -> dict:
    return {"stand_in": stand_in, "starts_at": moment(minutes=-1), "ends_at": moment(days=7)} | changes


def decide_messages(outbox):
    return [json.loads(r.body)["payload"] for r in outbox.pending() if r.message_type == "approval.decide"]


def submitted(caller, email="jane@tech.gov.sg") -> str:
    response = caller("POST", "/api/v1/invites", json=OFFICER | {"email": email})
    assert response.status_code == 201, response.text
    return response.get_json()["id"]


@pytest.fixture
def dave(client):
    """dave@tech.gov.sg, a public officer holding no role, whom bob names as stand-in."""
    return as_user(client, DAVE)


@pytest.fixture
def ada_administrator(client, intake_db):
    with database.atomic():
        RoleGrant.create(role="admin", email="ada@tech.gov.sg")
    return as_user(client, "ada@tech.gov.sg")


def queue_ids(caller) -> list[str]:
    response = caller("GET", "/api/v1/approvals")
    return [i["id"] for i in response.get_json()["items"]] if response.status_code == 200 else []


@pytest.mark.both_databases(SQL)
def test_a_stand_in_sees_the_approvers_requests_and_decides_them_on_their_behalf(amy, bob, dave, outbox):
    invite = submitted(amy)
    assert dave("GET", "/api/v1/approvals").status_code == 403
    named = bob("POST", "/api/v1/delegations", json=a_week())
    assert named.status_code == 201, named.text
    body = named.get_json()
    assert (body["approver"], body["stand_in"], body["roles"], body["running"]) == ("bob@tech.gov.sg", DAVE, ["approver"], True)
    assert queue_ids(dave) == [invite]
    assert dave("POST", f"/api/v1/invites/{invite}/approve", json={"comment": "for bob"}).status_code == 202
    [message] = decide_messages(outbox)
    assert (message["actor"], message["on_behalf_of"], message["level"]) == (DAVE, "bob@tech.gov.sg", "approval")


def test_each_person_reads_their_stand_ins_and_whom_they_stand_in_for(bob, dave):
    delegation = bob("POST", "/api/v1/delegations", json=a_week()).get_json()
    coming = bob("POST", "/api/v1/delegations", json=a_week("erin@tech.gov.sg", starts_at=moment(days=10),
                                                             ends_at=moment(days=12))).get_json()
    mine = bob("GET", "/api/v1/delegations").get_json()
    assert [d["id"] for d in mine["stand_ins"]] == [delegation["id"], coming["id"]]
    assert [d["running"] for d in mine["stand_ins"]] == [True, False] and mine["standing_in_for"] == []
    theirs = dave("GET", "/api/v1/delegations").get_json()
    assert [d["approver"] for d in theirs["standing_in_for"]] == ["bob@tech.gov.sg"] and theirs["stand_ins"] == []


@pytest.mark.parametrize("body, field", [
    (a_week(note="away"), "note"),
    (a_week("bob@tech.gov.sg"), "stand_in"),
    (a_week("BOB+away@tech.gov.sg"), "stand_in"),
    (a_week("dave@vendor.com"), "stand_in"),
    (a_week("carol@tech.gov.sg"), "stand_in"),  # an auditor: auditing is read-only
    (a_week("not an address"), "stand_in"),
    (a_week(starts_at="tomorrow"), "starts_at"),
    (a_week(ends_at=moment(days=-2), starts_at=moment(days=-3)), "ends_at"),
    (a_week(ends_at=moment(days=-1)), "ends_at"),
    (a_week(ends_at=moment(days=91)), "ends_at"),
    ({"stand_in": DAVE, "starts_at": moment()}, "ends_at"),
])
def test_a_stand_in_the_rules_refuse_is_a_422_naming_the_field(bob, body, field):
    response = bob("POST", "/api/v1/delegations", json=body)
    assert response.status_code == 422, response.text
    assert list(response.get_json()["errors"]) == [field]


def test_a_stand_in_overlapping_one_already_named_is_refused(bob):
    assert bob("POST", "/api/v1/delegations", json=a_week()).status_code == 201
    response = bob("POST", "/api/v1/delegations", json=a_week("erin@tech.gov.sg", starts_at=moment(days=6),
                                                               ends_at=moment(days=9)))
    assert response.status_code == 409
    assert "already have a stand-in, dave@tech.gov.sg" in response.get_json()["message"]


def test_someone_who_decides_nothing_cannot_name_a_stand_in(amy):
    assert amy("POST", "/api/v1/delegations", json=a_week()).status_code == 403


def test_an_ended_stand_in_no_longer_decides(amy, bob, dave, outbox):
    invite = submitted(amy)
    delegation = bob("POST", "/api/v1/delegations", json=a_week()).get_json()
    ended = bob("POST", f"/api/v1/delegations/{delegation['id']}/end")
    assert ended.status_code == 200 and ended.get_json()["ended_by"] == "bob@tech.gov.sg"
    assert ended.get_json()["running"] is False
    assert dave("GET", "/api/v1/approvals").status_code == 403
    assert dave("POST", f"/api/v1/invites/{invite}/approve", json={}).status_code == 403
    assert decide_messages(outbox) == []
    assert bob("POST", f"/api/v1/delegations/{delegation['id']}/end").status_code == 409
    assert bob("GET", "/api/v1/delegations").get_json()["stand_ins"] == []


def test_only_the_approver_who_named_a_stand_in_or_an_administrator_ends_it(bob, client, ada_administrator, amy):
    delegation = bob("POST", "/api/v1/delegations", json=a_week()).get_json()
    assert amy("POST", f"/api/v1/delegations/{delegation['id']}/end").status_code == 403
    assert as_user(client, "dana@tech.gov.sg")("POST", f"/api/v1/delegations/{delegation['id']}/end").status_code == 404
    ended = ada_administrator("POST", f"/api/v1/delegations/{delegation['id']}/end")
    assert ended.status_code == 200 and ended.get_json()["ended_by"] == "ada@tech.gov.sg"


@pytest.mark.both_databases(SQL)
def test_a_stand_in_cannot_decide_a_request_they_made_or_that_invites_them(bob, dave, amy):
    bob("POST", "/api/v1/delegations", json=a_week())
    own = submitted(dave, "kim@tech.gov.sg")
    inviting = submitted(amy, DAVE)
    assert queue_ids(dave) == []
    for invite in (own, inviting):
        assert dave("POST", f"/api/v1/invites/{invite}/approve", json={}).status_code == 403


@pytest.mark.both_databases(SQL)
def test_a_stand_in_cannot_decide_for_the_approver_a_request_the_approver_may_not_decide(bob, dave, amy):
    bob("POST", "/api/v1/delegations", json=a_week())
    bobs_own = submitted(bob, "kim@tech.gov.sg")
    inviting_bob = submitted(amy, "bob@tech.gov.sg")
    assert queue_ids(dave) == []
    for invite in (bobs_own, inviting_bob):
        response = dave("POST", f"/api/v1/invites/{invite}/approve", json={})
        assert response.status_code == 403, response.text


def test_auditors_read_the_stand_ins_named_and_ended(bob, client):
    delegation = bob("POST", "/api/v1/delegations", json=a_week()).get_json()
    bob("POST", f"/api/v1/delegations/{delegation['id']}/end")
    carol = as_user(client, "carol@tech.gov.sg")
    items = carol("GET", "/api/v1/audit/delegations").get_json()["items"]
    assert [(i["event"], i["stand_in"], i["approver"], i["by"]) for i in items] == [
        ("stand_in_ended", DAVE, "bob@tech.gov.sg", "bob@tech.gov.sg"),
        ("stand_in_named", DAVE, "bob@tech.gov.sg", "bob@tech.gov.sg")]
    assert items[0]["delegation"] == delegation["id"] and items[1]["ends_at"]
    assert carol("GET", "/api/v1/audit/delegations?person=DAVE@tech.gov.sg").get_json()["items"] == items
    assert carol("GET", "/api/v1/audit/delegations?person=erin@tech.gov.sg").get_json()["items"] == []
    assert carol("GET", "/api/v1/audit/delegations?who=x").status_code == 422
