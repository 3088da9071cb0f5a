"""Approval levels in intake: each request waits in one level, whose role (or fallback role) fills the queues,
approvers' stand-ins, administrators' reassignments and the per-level digests, on a real database."""
import datetime as dt
import json

import pytest

import intake.auth.roles
import invite_common.approval_policy
from intake.approvals import delegations, digest, levels, queue
from intake.auth.identity import Caller
from intake.db import database
from intake.errors import Conflict, Forbidden, InvalidInput
from intake.history import consumer
from intake.invites import service
from intake.models import Delegation, HistoryEntry, InviteRequest, RoleGrant
from invite_common.messages import new_message
from tests.support.callers import as_user
from tests.support.policies import EXAMPLE

pytestmark = pytest.mark.both_databases("queues and digests select by level, agency and deciders in SQL")

# EXAMPLE, the README's example policy: every request passes its agency's approvers; offshore vendors and
# vendors needing SEED pass the security approvers too.

OFFICER = {"method": "email_invitation", "email": "jane@tech.gov.sg", "seed_onboarding": False, "reason": "New joiner"}
OFFSHORE_VENDOR = {
    "method": "create_account", "email": "vic@vendor.example.com", "user_type": "vendor", "username": "v-vic.lim",
    "first_name": "Vic", "last_name": "Lim", "contact_number": "91234567", "organisation": "Example Pte Ltd",
    "seed_onboarding": True, "offshore": True, "reason": "Contractor",
}
SAM = "sam@tech.gov.sg"  # the security approver
DAVE = "dave@tech.gov.sg"  # an approver who names a stand-in
SID = "sid@tech.gov.sg"  # a public officer with no role, dave's stand-in
EVE = "eve@health.gov.sg"  # an approver of another agency
ADA = "ada@tech.gov.sg"  # an administrator
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def levelled_app(app):
    """The app under the README's example policy, with a security approver, another agency's approver, an
    approver who may name a stand-in and an administrator."""
    app.config["APPROVAL_POLICY"] = invite_common.approval_policy.parse(
        EXAMPLE, suffix=".toml", roles=intake.auth.roles.DECIDING)
    with database.atomic():
        for role, email in (("security_approver", SAM), ("approver", EVE), ("approver", DAVE), ("admin", ADA)):
            RoleGrant.create(role=role, email=email)
    return app


@pytest.fixture
def levelled(levelled_app):
    """Call the levelled app's API as a person: `levelled(email)(method, path, ...)`."""
    client = levelled_app.test_client()
    return lambda email: as_user(client, email)


def submitted(call, body) -> str:
    response = call("POST", "/api/v1/invites", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def stored(request_id: str) -> InviteRequest:
    with database.atomic():
        return InviteRequest.get_by_id(request_id)


def queue_ids(call) -> list[str]:
    response = call("GET", "/api/v1/approvals?limit=100")
    assert response.status_code == 200, response.get_json()
    return [i["id"] for i in response.get_json()["items"]]


def not_an_approver(call) -> bool:
    """The person has no queue at all: no deciding role, no stand-in's duty running, nothing given to them."""
    return call("GET", "/api/v1/approvals").status_code == 403


def decide_messages(outbox) -> list[dict]:
    return [json.loads(r.body)["payload"] for r in outbox.pending() if r.message_type == "approval.decide"]


def level_approved(app, request_id, actor, level="agency", next_level="security", seq=1, on_behalf_of=None):
    """Approval's event that `actor` approved `level` and the request goes on to `next_level`, as intake's
    consumer receives it under the app's policy."""
    details = {"level": level, "next_level": next_level} | ({"on_behalf_of": on_behalf_of} if on_behalf_of else {})
    env = new_message(
        "invite.state_changed",
        {"request_id": request_id, "seq": seq, "from_state": "submitted", "to_state": "submitted",
         "verb": "approve_level", "actor": actor, "note": "", "details": details,
         "changed_at": dt.datetime.now(dt.timezone.utc).isoformat()},
        correlation_id=request_id, producer="approval")
    with database.atomic():
        consumer.record_state_change(env, app.config["APPROVAL_POLICY"], app.config["ORG_DOMAINS"])


def events(request_id) -> list[HistoryEntry]:
    with database.atomic():
        return list(HistoryEntry.select().where(HistoryEntry.request_id == request_id).order_by(HistoryEntry.id))


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def stand_in(approver=DAVE, person=SID, starts=None, ends=None, held=frozenset({"approver"})) -> Delegation:
    start = starts if starts is not None else now() - dt.timedelta(minutes=1)
    with database.atomic():
        return delegations.name_stand_in(approver, held, person, start, ends or start + dt.timedelta(days=7),
                                         ("gov.sg",))


# --- where a new request waits ---------------------------------------------------------------------------------

def test_a_new_offshore_vendor_request_waits_in_its_requesters_agency_level(levelled):
    invite = stored(submitted(levelled("amy@tech.gov.sg"), OFFSHORE_VENDOR))
    assert (invite.level, invite.level_role, invite.level_agency) == ("agency", "approver", "tech.gov.sg")
    assert invite.level_since == invite.created_at and invite.assignee is None and not levels.decider_keys(invite)


def test_without_a_policy_an_officer_request_waits_in_the_one_approval_level_for_any_approver(amy, bob):
    invite = stored(submitted(amy, OFFICER))
    assert (invite.level, invite.level_role, invite.level_agency) == ("approval", "approver", None)
    assert queue_ids(bob) == [invite.id]


# --- who sees which request --------------------------------------------------------------------------------------

def test_another_agencys_approver_does_not_see_requests_waiting_for_an_agency_level_of_another(levelled):
    tech = submitted(levelled("amy@tech.gov.sg"), OFFICER)
    health = submitted(levelled("hal@health.gov.sg"), OFFICER | {"email": "joe@health.gov.sg"})
    assert queue_ids(levelled(EVE)) == [health]
    assert queue_ids(levelled("bob@tech.gov.sg")) == [tech]
    assert levelled(EVE)("POST", f"/api/v1/invites/{tech}/approve", json={}).status_code == 403


def test_a_security_approvers_queue_holds_only_requests_at_the_security_level(levelled_app, levelled):
    amy = levelled("amy@tech.gov.sg")
    officer = submitted(amy, OFFICER)
    vendor = submitted(amy, OFFSHORE_VENDOR)
    assert queue_ids(levelled(SAM)) == []
    level_approved(levelled_app, vendor, "bob@tech.gov.sg")
    assert queue_ids(levelled(SAM)) == [vendor]
    assert queue_ids(levelled("dana@tech.gov.sg")) == [officer]


def test_approving_the_agency_level_moves_the_request_to_security_and_its_decider_may_not_decide_it_again(
        levelled_app, levelled, outbox):
    vendor = submitted(levelled("amy@tech.gov.sg"), OFFSHORE_VENDOR)
    level_approved(levelled_app, vendor, "bob@tech.gov.sg")
    invite = stored(vendor)
    assert (invite.level, invite.level_role, invite.level_agency) == ("security", "security_approver", None)
    assert levels.decider_keys(invite) == ["bob@tech.gov.sg"]
    bob = levelled("bob@tech.gov.sg")
    assert vendor not in queue_ids(bob)
    refused = bob("POST", f"/api/v1/invites/{vendor}/approve", json={})
    assert refused.status_code == 403 and levels.EARLIER_LEVEL in json.dumps(refused.get_json())
    results = bob("POST", "/api/v1/approvals/decisions",
                  json={"decisions": [{"id": vendor, "decision": "approve"}]}).get_json()["results"]
    assert results == [{"id": vendor, "status": 403, "outcome": "earlier_level", "error": levels.EARLIER_LEVEL}]
    assert decide_messages(outbox) == []


def test_a_decision_tells_approval_the_level_it_was_taken_at(levelled_app, levelled, outbox):
    vendor = submitted(levelled("amy@tech.gov.sg"), OFFSHORE_VENDOR)
    assert levelled("bob@tech.gov.sg")("POST", f"/api/v1/invites/{vendor}/approve", json={}).status_code == 202
    [payload] = decide_messages(outbox)
    assert payload["level"] == "agency" and payload["actor"] == "bob@tech.gov.sg" and "on_behalf_of" not in payload


def test_a_security_approvers_decision_at_the_security_level_carries_it(levelled_app, levelled, outbox):
    vendor = submitted(levelled("amy@tech.gov.sg"), OFFSHORE_VENDOR)
    level_approved(levelled_app, vendor, "bob@tech.gov.sg")
    assert levelled(SAM)("POST", f"/api/v1/invites/{vendor}/reject", json={"reason": "No"}).status_code == 202
    [payload] = decide_messages(outbox)
    assert (payload["level"], payload["decision"], payload["actor"]) == ("security", "reject", SAM)


# --- fallback ----------------------------------------------------------------------------------------------------

def test_a_level_whose_only_holder_made_the_request_goes_to_its_fallback_role_and_the_history_says_why(
        levelled_app, levelled):
    vendor = submitted(levelled(SAM), OFFSHORE_VENDOR)  # the only security approver asks
    assert stored(vendor).level_role == "approver"  # the agency level has approvers other than sam
    level_approved(levelled_app, vendor, "bob@tech.gov.sg")
    invite = stored(vendor)
    assert (invite.level, invite.level_role) == ("security", "approver")
    [fallback] = [e for e in events(vendor) if e.event == levels.LEVEL_FALLBACK]
    assert fallback.actor == "system"
    assert json.loads(fallback.details) == {"level": "security", "role": "security_approver", "fallback": "approver"}
    assert "Security approval" in fallback.note
    assert queue_ids(levelled("dana@tech.gov.sg")) == [vendor]  # an approver who did not decide the agency level
    assert queue_ids(levelled("bob@tech.gov.sg")) == []


def test_a_role_known_only_by_the_providers_claims_never_falls_back(levelled_app, levelled):
    with database.atomic():
        RoleGrant.delete().where(RoleGrant.role == "security_approver").execute()
    vendor = submitted(levelled("amy@tech.gov.sg"), OFFSHORE_VENDOR)
    level_approved(levelled_app, vendor, "bob@tech.gov.sg")
    assert stored(vendor).level_role == "security_approver"
    assert [e for e in events(vendor) if e.event == levels.LEVEL_FALLBACK] == []
    by_claims = Caller(email=SAM, roles=frozenset({"security_approver"}))
    with levelled_app.app_context():
        assert [i.id for i in queue.decidable(by_claims)] == [vendor]


# --- stand-ins ---------------------------------------------------------------------------------------------------

def test_a_running_stand_in_sees_the_approvers_requests_and_decides_them_on_their_behalf(levelled, outbox):
    officer = submitted(levelled("amy@tech.gov.sg"), OFFICER)
    sid = levelled(SID)
    assert not_an_approver(sid)
    stand_in()
    assert queue_ids(sid) == [officer]
    assert sid("POST", f"/api/v1/invites/{officer}/approve", json={}).status_code == 202
    [payload] = decide_messages(outbox)
    assert (payload["actor"], payload["on_behalf_of"], payload["level"]) == (SID, DAVE, "agency")


def test_a_stand_in_ended_or_not_yet_begun_sees_nothing_and_decides_nothing(levelled):
    officer = submitted(levelled("amy@tech.gov.sg"), OFFICER)
    sid = levelled(SID)
    later = stand_in(starts=now() + dt.timedelta(days=1))
    assert not_an_approver(sid)
    assert sid("POST", f"/api/v1/invites/{officer}/approve", json={}).status_code == 403
    with database.atomic():
        delegations.end(later.id, DAVE)
    running = stand_in()
    assert queue_ids(sid) == [officer]
    with database.atomic():
        delegations.end(running.id, DAVE)
    assert not_an_approver(sid)
    assert sid("POST", f"/api/v1/invites/{officer}/approve", json={}).status_code == 403


def test_a_stand_in_cannot_decide_for_an_approver_a_request_that_approver_made(levelled):
    own = submitted(levelled(DAVE), OFFICER)
    other = submitted(levelled("amy@tech.gov.sg"), OFFICER | {"email": "kim@tech.gov.sg"})
    stand_in()
    sid = levelled(SID)
    assert queue_ids(sid) == [other]
    refused = sid("POST", f"/api/v1/invites/{own}/approve", json={})
    assert refused.status_code == 403
    assert "You stand in for dave@tech.gov.sg, who may not decide this request: they made it." in refused.text


def test_a_stand_in_with_no_role_is_an_approver_only_while_the_period_runs(levelled_app):
    delegation = stand_in()
    with levelled_app.app_context():
        assert Caller(email=SID, roles=frozenset()).is_approver
    with database.atomic():  # the period passes
        Delegation.update(starts_at=now() - dt.timedelta(days=8), ends_at=now() - HOUR).where(
            Delegation.id == delegation.id).execute()
    with levelled_app.app_context():
        assert not Caller(email=SID, roles=frozenset()).is_approver


@pytest.mark.parametrize("person, starts, ends, field", [
    (DAVE, 0, 24, "stand_in"),  # themselves
    ("Dave+away@tech.gov.sg", 0, 24, "stand_in"),  # themselves at another address
    ("vic@vendor.example.com", 0, 24, "stand_in"),  # outside the organisation
    (SID, 24, 1, "ends_at"),  # the end before the start
    (SID, -48, -24, "ends_at"),  # over already
    (SID, 0, 91 * 24, "ends_at"),  # longer than 90 days
])
def test_naming_a_stand_in_is_refused_naming_the_field(levelled_app, person, starts, ends, field):
    with pytest.raises(InvalidInput) as refused:
        stand_in(person=person, starts=now() + starts * HOUR, ends=now() + ends * HOUR)
    assert list(refused.value.errors) == [field]
    with database.atomic():
        assert Delegation.select().count() == 0


def test_a_stand_in_overlapping_one_already_named_is_a_conflict_and_one_after_it_is_not(levelled_app):
    first = stand_in(starts=now() + HOUR, ends=now() + 48 * HOUR)
    with pytest.raises(Conflict):
        stand_in(person="tom@tech.gov.sg", starts=now() + 24 * HOUR, ends=now() + 72 * HOUR)
    after = stand_in(person="tom@tech.gov.sg", starts=first.ends_at, ends=first.ends_at + 24 * HOUR)
    assert after.stand_in == "tom@tech.gov.sg"
    with pytest.raises(Forbidden):
        stand_in(approver="amy@tech.gov.sg", held=frozenset())  # only someone who decides names a stand-in
    named = [e for e in events(delegations.DELEGATION_HISTORY_KEY) if e.event == delegations.NAMED]
    assert [e.note for e in named] == [f"{SID} for {DAVE}", f"tom@tech.gov.sg for {DAVE}"]


# --- reassignment ------------------------------------------------------------------------------------------------

def reassign(app, request_id, to, by=ADA):
    with app.test_request_context():
        return service.reassign(request_id, to, "Away this week", Caller(email=by, roles=frozenset({"admin"})))


def test_a_reassigned_request_is_seen_and_decided_only_by_the_person_given_it(levelled_app, levelled, outbox):
    officer = submitted(levelled("amy@tech.gov.sg"), OFFICER)
    reassign(levelled_app, officer, "Pat@tech.gov.sg")
    assert stored(officer).assignee == "pat@tech.gov.sg"
    [entry] = [e for e in events(officer) if e.event == service.REASSIGNED]
    assert (entry.actor, entry.note) == (ADA, "Away this week")
    assert json.loads(entry.details) == {"to": "pat@tech.gov.sg", "level": "agency", "role": "approver"}
    pat = levelled("pat@tech.gov.sg")
    assert queue_ids(pat) == [officer]
    assert queue_ids(levelled("bob@tech.gov.sg")) == [] and queue_ids(levelled("dana@tech.gov.sg")) == []
    assert levelled("bob@tech.gov.sg")("POST", f"/api/v1/invites/{officer}/approve", json={}).status_code == 403
    with levelled_app.app_context():
        assert Caller(email="pat@tech.gov.sg", roles=frozenset()).is_approver
    assert pat("POST", f"/api/v1/invites/{officer}/approve", json={}).status_code == 202
    assert [p["actor"] for p in decide_messages(outbox)] == ["pat@tech.gov.sg"]


def test_a_request_is_not_reassigned_to_its_requester_invitee_or_an_earlier_decider(levelled_app, levelled):
    officer = submitted(levelled("amy@tech.gov.sg"), OFFICER)
    vendor = submitted(levelled("amy@tech.gov.sg"), OFFSHORE_VENDOR)
    level_approved(levelled_app, vendor, "bob@tech.gov.sg")
    for request_id, to in ((officer, "amy@tech.gov.sg"), (officer, "jane+x@tech.gov.sg"),
                           (vendor, "bob@tech.gov.sg"), (officer, "vic@vendor.example.com")):
        with pytest.raises(InvalidInput) as refused:
            reassign(levelled_app, request_id, to)
        assert list(refused.value.errors) == ["to"], to
    assert stored(officer).assignee is None and stored(vendor).assignee is None


def test_an_administrator_cannot_reassign_their_own_request(levelled_app, levelled):
    own = submitted(levelled(ADA), OFFICER)
    with pytest.raises(Forbidden):
        reassign(levelled_app, own, "pat@tech.gov.sg")


def test_a_request_no_longer_waiting_cannot_be_reassigned(levelled_app, levelled):
    officer = submitted(levelled("amy@tech.gov.sg"), OFFICER)
    assert levelled("bob@tech.gov.sg")("POST", f"/api/v1/invites/{officer}/approve", json={}).status_code == 202
    with pytest.raises(Conflict):
        reassign(levelled_app, officer, "pat@tech.gov.sg")


def test_entering_the_next_level_ends_a_reassignment(levelled_app, levelled):
    vendor = submitted(levelled("amy@tech.gov.sg"), OFFSHORE_VENDOR)
    reassign(levelled_app, vendor, "pat@tech.gov.sg")
    level_approved(levelled_app, vendor, "pat@tech.gov.sg")
    invite = stored(vendor)
    assert (invite.level, invite.assignee) == ("security", None)
    assert not_an_approver(levelled("pat@tech.gov.sg"))
    assert queue_ids(levelled(SAM)) == [vendor]


# --- digest ------------------------------------------------------------------------------------------------------

def test_a_security_approvers_digest_counts_only_the_requests_at_the_security_level(levelled_app, levelled, outbox):
    amy = levelled("amy@tech.gov.sg")
    submitted(amy, OFFICER)
    submitted(amy, OFFICER | {"email": "kim@tech.gov.sg"})
    vendor = submitted(amy, OFFSHORE_VENDOR)
    level_approved(levelled_app, vendor, "bob@tech.gov.sg")
    settings = digest.DigestSettings(interval=HOUR, expiry_days=14, queue_url="https://invites.example.gov.sg/approvals")
    run = digest.send_digest(outbox, settings, now=now().replace(microsecond=0) + HOUR)
    assert run.new_count == 3
    sent = {p["to"]: p["context"] for p in (json.loads(r.body)["payload"] for r in outbox.pending()
                                              if r.message_type == "notifier.send_email")}
    assert sent[SAM]["new_count"] == 1 and sent[SAM]["waiting_count"] == 1
    assert [i["invitee_email"] for g in sent[SAM]["new_groups"] for i in g["items"]] == ["vic@vendor.example.com"]
    assert sent["dana@tech.gov.sg"]["new_count"] == 2  # the agency level's two; the vendor left it
    assert sent["bob@tech.gov.sg"]["new_count"] == 2
    assert EVE not in sent  # another agency's approver: nothing of tech.gov.sg's


def test_a_stand_in_with_no_role_hears_in_the_digest_of_the_requests_of_the_approver_they_stand_in_for(
        levelled_app, levelled, outbox):
    stand_in()  # sid stands in for dave, an agency approver of tech.gov.sg
    submitted(levelled("amy@tech.gov.sg"), OFFICER)
    settings = digest.DigestSettings(interval=HOUR, expiry_days=14, queue_url="https://invites.example.gov.sg/approvals")
    digest.send_digest(outbox, settings, now=now().replace(microsecond=0) + HOUR)
    sent = {p["to"]: p["context"] for p in (json.loads(r.body)["payload"] for r in outbox.pending()
                                              if r.message_type == "notifier.send_email")}
    assert sent[SID]["new_count"] == 1 and sent[SID]["waiting_count"] == 1


def test_the_history_of_a_request_that_fell_back_at_submission_tells_it_after_the_submission(levelled_app, levelled):
    with database.atomic():  # every agency approver of tech.gov.sg is the requester: the agency level falls back
        RoleGrant.delete().where((RoleGrant.role == "approver") & (RoleGrant.email != "bob@tech.gov.sg")).execute()
    request_id = submitted(levelled("bob@tech.gov.sg"), OFFICER)
    assert (stored(request_id).level, stored(request_id).level_role) == ("agency", "admin")
    assert [e.event for e in events(request_id)] == ["submit", levels.LEVEL_FALLBACK]
    assert queue_ids(levelled(ADA)) == [request_id]
