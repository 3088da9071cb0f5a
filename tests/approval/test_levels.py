"""Levels of approval on a real database: a request waits in one level at a time (`approve_level` keeps it
submitted), its last level approves it, a rejection at any level ends it, nobody decides two levels of
one request (a stand-in and the approver they stand in for alike), auto-approval rules pass the levels
they name in the policy's name, and the levels are fixed when the request is submitted."""
from __future__ import annotations

import pytest

from invite_common.approval_policy import NO_POLICY, parse

from approval import levels
from approval.models import InviteRequest, Transition
from tests.approval import test_handlers as handlers
from tests.approval import test_policy as policies

pytestmark = pytest.mark.both_databases("a level is a column the decision reads and writes under the request's row lock")

# the fixture test_handlers.py declares (a directory in approval's database or a remote one), not a second one
approval_deps = handlers.approval_deps
run, submitted, message, published, advance = (handlers.run, handlers.submitted, handlers.message, handlers.published,
                                               handlers.advance)

ALICE, CAROL, DAVE = "alice@tech.gov.sg", "carol@tech.gov.sg", "dave@tech.gov.sg"
REQUESTER = "amy@tech.gov.sg"  # submitted()'s requester


def example(*extra_rules: str):
    """The README's example policy (offshore and SEED vendors pass agency then security), with more rules."""
    return parse(policies.EXAMPLE_TOML + "".join(extra_rules), suffix=".toml")


def auto_approving(approves: str | None) -> str:
    """An auto-approval rule for the vendor's domain, approving the levels `approves` names (every level when None)."""
    return ('\n[[rules]]\nname = "Framework vendor"\ninvitee_domains = ["vendor.example.com"]\n'
            + (f"approves = {approves}\n" if approves else ""))


def decide(approval_deps, actor, decision="approve", request_id="r1", **fields):
    payload = {"request_id": request_id, "decision": decision, "actor": actor} | fields
    if decision == "reject":
        payload.setdefault("reason", "not cleared")
    run(message("approval.decide", payload, request_id), approval_deps)


def moves(approval_deps, request_id="r1"):
    """Every move announced for the request, in order (an event's later moves are its `then`)."""
    found = []
    for m in published(approval_deps):
        if m["type"] == "invite.state_changed" and m["payload"]["request_id"] == request_id:
            found += [m["payload"], *m["payload"].get("then", [])]
    return found


def refusals(approval_deps):
    return [m["payload"]["error"] for m in published(approval_deps) if m["type"] == "invite.decision_refused"]


def steps(approval_deps):
    return [m["payload"]["step"] for m in published(approval_deps) if m["type"] == "approval.advance"]


def waiting(request_id="r1"):
    """The request's state and the level it waits in."""
    request = InviteRequest.get_by_id(request_id)
    return request.state, levels.current(request)


def two_levels(approval_deps, policy=None, **overrides):
    """An offshore vendor's request under the example policy (or `policy`): agency, then security."""
    approval_deps.policy = policy or example()
    run(submitted(offshore=True, **overrides), approval_deps)


def test_a_two_level_request_stays_submitted_after_its_first_level_and_is_approved_by_its_last(approval_deps):
    two_levels(approval_deps)
    request = InviteRequest.get_by_id("r1")
    assert (request.state, request.levels, request.level, request.deciders) == ("submitted", "agency\nsecurity", 0, "")

    decide(approval_deps, ALICE, level="agency", comment="known vendor")
    request = InviteRequest.get_by_id("r1")
    assert (request.state, request.level, levels.current(request)) == ("submitted", 1, "security")
    assert levels.deciders(request) == [ALICE]
    [first] = moves(approval_deps)
    assert (first["verb"], first["actor"], first["from_state"], first["to_state"], first["note"]) == (
        "approve_level", ALICE, "submitted", "submitted", "known vendor")
    assert first["details"] == {"level": "agency", "next_level": "security"}
    assert steps(approval_deps) == [] and refusals(approval_deps) == []

    decide(approval_deps, CAROL, level="security")
    approved = [m for m in moves(approval_deps) if m["verb"] == "approve"]
    assert [(m["actor"], m["details"]) for m in approved] == [(CAROL, {"level": "security"})]
    # provisioning starts: in the approval's transaction with a directory in approval's database, else a step
    if approval_deps.directory.provisions_in_transaction:
        assert InviteRequest.get_by_id("r1").state == "account_created"
        assert [m["verb"] for m in moves(approval_deps)] == ["approve_level", "approve", "provision"]
    else:
        assert InviteRequest.get_by_id("r1").state == "approved"
        assert steps(approval_deps) == ["provision"]
        advance(approval_deps, "provision")
        assert InviteRequest.get_by_id("r1").state == "account_created"
    assert [t.verb for t in Transition.select().order_by(Transition.seq)][:2] == ["approve_level", "approve"]


@pytest.mark.parametrize("again", [ALICE, "alice+x@tech.gov.sg", "Alice@TECH.gov.sg"])
def test_the_decider_of_the_first_level_is_refused_the_second_and_the_request_stays_in_it(approval_deps, again):
    two_levels(approval_deps)
    decide(approval_deps, ALICE, level="agency")
    decide(approval_deps, again, level="security")
    decide(approval_deps, again, "reject", level="security")
    assert refusals(approval_deps) == ["an approver cannot decide two levels of one request"] * 2
    assert waiting() == ("submitted", "security")
    assert Transition.select().count() == 1
    decide(approval_deps, CAROL, level="security")
    assert waiting()[0] != "submitted"


def test_a_decision_for_a_level_the_request_has_left_is_refused(approval_deps):
    two_levels(approval_deps)
    decide(approval_deps, ALICE, level="agency")
    # bob's page still showed the agency level
    decide(approval_deps, "bob@tech.gov.sg", level="agency")
    decide(approval_deps, "bob@tech.gov.sg", "reject", level="agency")
    assert refusals(approval_deps) == ["the request waits in level 'security' now, not 'agency'"] * 2
    assert waiting() == ("submitted", "security") and Transition.select().count() == 1
    # a decision that names no level is for the level the request waits in
    decide(approval_deps, "bob@tech.gov.sg")
    assert waiting()[0] != "submitted"


def test_a_rejection_at_the_second_level_ends_the_request_and_tells_the_requester(approval_deps):
    two_levels(approval_deps)
    decide(approval_deps, ALICE, level="agency")
    decide(approval_deps, CAROL, "reject", level="security", reason="offshore access not cleared")
    assert waiting() == ("rejected", "security")
    last = moves(approval_deps)[-1]
    assert (last["verb"], last["actor"], last["note"], last["details"]) == (
        "reject", CAROL, "offshore access not cleared", {"level": "security"})
    [email] = [m["payload"] for m in published(approval_deps) if m["type"] == "notifier.send_email"]
    assert (email["template"], email["to"]) == ("rejection_notice", REQUESTER)
    assert (email["context"]["reason"], email["context"]["decided_by"]) == ("offshore access not cleared", CAROL)
    assert steps(approval_deps) == []
    # and it is over: a later approval is refused
    decide(approval_deps, "bob@tech.gov.sg")
    assert waiting()[0] == "rejected" and len(refusals(approval_deps)) == 1


def test_a_stand_in_decision_is_recorded_as_such_and_holds_both_people_to_separation_of_duties(approval_deps):
    two_levels(approval_deps)
    decide(approval_deps, ALICE, level="agency", on_behalf_of=DAVE)
    [first] = moves(approval_deps)
    assert first["actor"] == ALICE
    assert first["details"] == {"level": "agency", "next_level": "security", "on_behalf_of": DAVE}
    assert levels.deciders(InviteRequest.get_by_id("r1")) == [ALICE, DAVE]
    # dave was stood in for at the agency level: he decides no other, himself or through a stand-in
    decide(approval_deps, DAVE, level="security")
    decide(approval_deps, CAROL, level="security", on_behalf_of="dave+x@tech.gov.sg")
    assert refusals(approval_deps) == ["an approver cannot decide two levels of one request"] * 2
    assert waiting() == ("submitted", "security")
    decide(approval_deps, CAROL, level="security", on_behalf_of="erin@tech.gov.sg")
    approval = [m for m in moves(approval_deps) if m["verb"] == "approve"]
    assert [m["details"] for m in approval] == [{"level": "security", "on_behalf_of": "erin@tech.gov.sg"}]


def test_nobody_stands_in_for_the_requester(approval_deps):
    two_levels(approval_deps, requester=DAVE)
    decide(approval_deps, ALICE, level="agency", on_behalf_of=DAVE)
    assert refusals(approval_deps) == ["an approver cannot decide on their own request"]
    assert waiting() == ("submitted", "agency") and Transition.select().count() == 0


def test_nobody_stands_in_for_the_decider_of_an_earlier_level(approval_deps):
    two_levels(approval_deps)
    decide(approval_deps, DAVE, level="agency")
    decide(approval_deps, CAROL, level="security", on_behalf_of=DAVE)
    assert refusals(approval_deps) == ["an approver cannot decide two levels of one request"]
    assert waiting() == ("submitted", "security")


def test_a_rule_approving_only_the_first_level_makes_the_request_wait_in_the_second_at_once(approval_deps):
    two_levels(approval_deps, example(auto_approving('["agency"]')))
    request = InviteRequest.get_by_id("r1")
    assert (request.state, request.levels, request.level) == ("submitted", "agency=Framework vendor\nsecurity", 1)
    assert levels.current(request) == "security" and levels.deciders(request) == []
    [move] = moves(approval_deps)
    assert (move["verb"], move["actor"], move["to_state"]) == ("approve_level", "policy", "submitted")
    assert move["details"] == {"policy": "Framework vendor", "level": "agency", "next_level": "security"}
    assert steps(approval_deps) == []
    # a person decides the security level; nobody decided an earlier one in person
    decide(approval_deps, ALICE, level="security")
    assert waiting()[0] != "submitted"


def test_a_rule_approving_only_the_last_level_approves_the_request_once_a_person_approves_the_first(approval_deps):
    two_levels(approval_deps, example(auto_approving('["security"]')))
    assert waiting() == ("submitted", "agency") and moves(approval_deps) == []
    decide(approval_deps, ALICE, level="agency")
    # in the same transaction as alice's decision: one event with both moves
    [event] = [m["payload"] for m in published(approval_deps) if m["type"] == "invite.state_changed"]
    both = [event, *event.get("then", [])]
    assert [(m["verb"], m["actor"], m["to_state"]) for m in both] == [
        ("approve_level", ALICE, "submitted"), ("approve", "policy", "approved")]
    assert both[1]["details"] == {"policy": "Framework vendor", "level": "security"}
    request = InviteRequest.get_by_id("r1")
    assert (request.state, request.level) == ("approved", 1)
    # provisioning is asked through approval.advance, whatever the directory
    assert steps(approval_deps) == ["provision"]
    advance(approval_deps, "provision")
    assert InviteRequest.get_by_id("r1").state == "account_created"


def test_a_rule_approving_every_level_approves_the_request_on_arrival(approval_deps):
    two_levels(approval_deps, example(auto_approving(None)))
    assert waiting() == ("approved", "security")
    assert [(m["verb"], m["actor"], m["details"]) for m in moves(approval_deps)] == [
        ("approve_level", "policy", {"policy": "Framework vendor", "level": "agency", "next_level": "security"}),
        ("approve", "policy", {"policy": "Framework vendor", "level": "security"}),
    ]
    assert steps(approval_deps) == ["provision"]


def test_a_policy_changed_after_submission_leaves_the_levels_of_a_waiting_request_as_they_were(approval_deps):
    two_levels(approval_deps)
    approval_deps.policy = NO_POLICY
    decide(approval_deps, ALICE, level="agency")
    assert waiting() == ("submitted", "security")
    # nor does a rule added later approve what it would approve now
    approval_deps.policy = example(auto_approving(None))
    decide(approval_deps, CAROL, level="security")
    approval = [m for m in moves(approval_deps) if m["verb"] == "approve"]
    assert [(m["actor"], m["details"]) for m in approval] == [(CAROL, {"level": "security"})]
    # a request submitted now passes the policy of now
    approval_deps.policy = NO_POLICY
    run(submitted("r2", offshore=True, email="val@vendor.example.com", username="val.tan"), approval_deps)
    assert InviteRequest.get_by_id("r2").levels == "approval"


def test_without_levels_a_request_passes_the_one_approval_level(approval_deps):
    run(submitted(), approval_deps)
    request = InviteRequest.get_by_id("r1")
    assert (request.levels, request.level) == ("approval", 0)
    decide(approval_deps, ALICE, level="approval")
    [approval] = [m for m in moves(approval_deps) if m["verb"] == "approve"]
    assert approval["details"] == {"level": "approval"}


def test_a_rule_whose_name_has_a_comma_approves_its_level_in_its_whole_name(approval_deps):
    rule = '\n[[rules]]\nname = "Vendors, framework contract"\ninvitee_domains = ["vendor.example.com"]\napproves = ["agency"]\n'
    two_levels(approval_deps, example(rule))
    request = InviteRequest.get_by_id("r1")
    assert levels.names(request) == ["agency", "security"]
    assert waiting() == ("submitted", "security")
    [move] = moves(approval_deps)
    assert move["details"] == {"policy": "Vendors, framework contract", "level": "agency", "next_level": "security"}
