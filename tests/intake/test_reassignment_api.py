"""An administrator's reassignment through the API: the request leaves the role holders' queues for the named
person's, the history says so, and a person separation of duties keeps from the request is refused by name."""
import pytest

from intake.approvals import levels
from intake.db import database
from intake.models import InviteRequest, RoleGrant
from tests.support.callers import as_user
from tests.intake.test_stand_ins_api import decide_messages, queue_ids, submitted

ERIN = "erin@tech.gov.sg"
# why the database matters to the test marked with it
SQL = "a reassigned request's queue is read in SQL"


@pytest.fixture
def ada_reassigning(client, intake_db):
    """The administrator ada@tech.gov.sg, who holds no deciding role the policy names."""
    with database.atomic():
        RoleGrant.create(role="admin", email="ada@tech.gov.sg")
    return as_user(client, "ada@tech.gov.sg")


def reassign(caller, invite, **body):
    return caller("POST", f"/api/v1/invites/{invite}/reassignment", json={"to": ERIN, "reason": "Bob is away"} | body)


@pytest.mark.both_databases(SQL)
def test_a_reassigned_request_leaves_the_approvers_queues_for_the_named_persons(amy, bob, client, ada_reassigning, outbox):
    invite = submitted(amy)
    erin = as_user(client, ERIN)
    assert queue_ids(bob) == [invite] and erin("GET", "/api/v1/approvals").status_code == 403
    response = reassign(ada_reassigning, invite, to="Erin@tech.gov.sg")
    assert response.status_code == 200, response.text
    entry = response.get_json()["history"][-1]
    assert (entry["event"], entry["actor"], entry["note"]) == ("reassigned", "ada@tech.gov.sg", "Bob is away")
    assert entry["details"] == {"to": ERIN, "level": "approval", "role": "approver"}
    assert queue_ids(bob) == [] and queue_ids(erin) == [invite]
    assert bob("POST", f"/api/v1/invites/{invite}/approve", json={}).status_code == 403
    assert erin("POST", f"/api/v1/invites/{invite}/approve", json={}).status_code == 202
    assert [m["actor"] for m in decide_messages(outbox)] == [ERIN]
    history = amy("GET", f"/api/v1/invites/{invite}").get_json()["history"]
    assert [e["event"] for e in history] == ["submit", "reassigned"]


def test_a_reassignment_to_someone_kept_from_the_request_is_refused_naming_to(amy, ada_reassigning):
    invite = submitted(amy)
    with database.atomic():
        row = InviteRequest.get_by_id(invite)
        levels.record_deciders(row, "dana@tech.gov.sg")
        row.save()
    for to, words in (("amy@tech.gov.sg", "made the request"), ("jane@tech.gov.sg", "invites this person"),
                      ("dana@tech.gov.sg", "decided an earlier level"), ("erin@vendor.com", "public officer"),
                      # auditing is read-only: an auditor never decides
                      ("carol@tech.gov.sg", "only audits")):
        response = reassign(ada_reassigning, invite, to=to)
        assert response.status_code == 422, to
        [message] = response.get_json()["errors"]["to"]
        assert words in message


@pytest.mark.parametrize("body, field", [({"note": "x"}, "note"), ({"reason": ""}, "reason"), ({"to": "x"}, "to")])
def test_a_reassignment_the_schema_refuses_names_the_field(amy, ada_reassigning, body, field):
    response = reassign(ada_reassigning, submitted(amy), **body)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == [field]


def test_a_request_no_longer_waiting_is_not_reassigned(amy, bob, ada_reassigning):
    invite = submitted(amy)
    assert bob("POST", f"/api/v1/invites/{invite}/approve", json={}).status_code == 202
    assert reassign(ada_reassigning, invite).status_code == 409
    assert reassign(ada_reassigning, "00000000-0000-4000-8000-000000000000").status_code == 404


def test_an_administrator_cannot_reassign_a_request_they_made_or_that_invites_them(amy, ada_reassigning):
    assert reassign(ada_reassigning, submitted(ada_reassigning)).status_code == 403
    assert reassign(ada_reassigning, submitted(amy, "ada@tech.gov.sg")).status_code == 403


def test_only_administrators_reassign(amy, bob):
    invite = submitted(amy)
    assert reassign(bob, invite).status_code == 403
    assert reassign(amy, invite).status_code == 403
