"""Intake asks every question about a request's state in intake.lifecycle, and its answers agree with
approval's table (approval.workflow), which owns the lifecycle."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from approval import workflow
from invite_common.messages import State, Verb
from intake import lifecycle

SOURCE = Path(lifecycle.__file__).parent
# Where a state's wire value may still be written: the lifecycle itself; the migrations, which keep
# each table as it was when they were written; and a batch draft's own status, a word of the batch
# API that happens to be spelt as a request's state.
SPELT_ON_PURPOSE = {
    "lifecycle.py": set(State.ALL),
    "migrations.py": set(State.ALL),
    "models.py": {State.SUBMITTED},
}
# The modules that may name states at all: the lifecycle, and the portal's words for each state.
NAMING_STATES = {"lifecycle.py", "portal/labels.py"}


def python_files():
    return sorted(p for p in SOURCE.rglob("*.py"))


def test_no_state_is_spelt_outside_the_lifecycle():
    found = []
    for path in python_files():
        name = str(path.relative_to(SOURCE))
        allowed = SPELT_ON_PURPOSE.get(name, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in State.ALL and node.value not in allowed:
                found.append(f"{name}:{node.lineno}: {node.value!r}")
    # a template asks about a state by comparing with it (its prose may say "approved")
    spelt = re.compile(r"""(==|!=|\bin)\s*['"](%s)['"]|['"](%s)['"]\s*(==|!=)""" % (("|".join(State.ALL),) * 2))
    for path in sorted(SOURCE.rglob("*.html")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if spelt.search(line):
                found.append(f"{path.relative_to(SOURCE)}:{number}: {line.strip()}")
    assert not found, "states spelt outside intake/lifecycle.py:\n" + "\n".join(found)


def test_only_the_lifecycle_and_the_portals_words_name_states():
    naming = set()
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and any(alias.name == "State" for alias in node.names):
                naming.add(str(path.relative_to(SOURCE)))
    assert naming <= NAMING_STATES, sorted(naming - NAMING_STATES)


def test_intake_knows_every_state_approval_knows():
    assert set(lifecycle.STATES) == set(workflow.STATES)
    targets = {to for moves in workflow.TRANSITIONS.values() for to in moves.values()} - {workflow.FAILED_FROM}
    assert targets <= set(lifecycle.STATES)


def test_decisions_cancellations_and_expiry_leave_only_from_a_new_request():
    for verb in (Verb.APPROVE, Verb.REJECT, Verb.CANCEL, Verb.EXPIRE):
        assert set(workflow.TRANSITIONS[verb]) == {lifecycle.SUBMITTED}, verb
    assert workflow.AWAITING_DECISION == {lifecycle.SUBMITTED}


def test_finished_requests_are_approvals_terminal_ones():
    assert lifecycle.FINISHED == workflow.TERMINAL
    for state in workflow.TERMINAL:
        leaving = {verb for verb, moves in workflow.TRANSITIONS.items() if state in moves}
        # a terminal request never leaves its state: a resend keeps a sent invitation sent
        assert all(workflow.TRANSITIONS[verb][state] == state for verb in leaving), state


def test_in_flight_requests_are_those_a_step_can_still_fail():
    assert set(lifecycle.IN_FLIGHT) == set(workflow.TRANSITIONS[Verb.FAIL])
    approved = workflow.TRANSITIONS[Verb.APPROVE][lifecycle.SUBMITTED]
    assert approved in lifecycle.IN_FLIGHT


def test_an_account_is_held_from_provisioning_until_the_invitation_is_sent():
    created = workflow.TRANSITIONS[Verb.PROVISION][workflow.TRANSITIONS[Verb.APPROVE][lifecycle.SUBMITTED]]
    reached, frontier = {created}, [created]
    while frontier:
        state = frontier.pop()
        for verb, moves in workflow.TRANSITIONS.items():
            target = moves.get(state)
            if verb != Verb.FAIL and target not in (None, workflow.FAILED_FROM) and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert set(lifecycle.HOLDS_ACCOUNT) == reached


def test_only_a_sent_invitation_is_sent_again():
    assert set(workflow.TRANSITIONS[Verb.RESEND]) == {lifecycle.SENT}
    assert lifecycle.SENT in workflow.TERMINAL


def test_the_outcomes_a_requester_hears_of_are_where_a_request_ends_or_stops():
    ends = {workflow.TRANSITIONS[v][lifecycle.SUBMITTED] for v in (Verb.REJECT, Verb.EXPIRE)}
    stops = set(workflow.TRANSITIONS[Verb.FAIL].values())
    given_up = set(workflow.TRANSITIONS[Verb.CLOSE].values())
    sent = set(workflow.TRANSITIONS[Verb.MARK_EMAILED].values())
    assert set(lifecycle.OUTCOMES) == ends | stops | given_up | sent
    assert set(lifecycle.NEEDS_ATTENTION) == {lifecycle.REJECTED, lifecycle.FAILED} == \
        {workflow.TRANSITIONS[Verb.REJECT][lifecycle.SUBMITTED]} | stops


def test_a_closed_request_is_finished_and_frees_its_invitee_for_a_new_request():
    closed = workflow.TRANSITIONS[Verb.CLOSE][lifecycle.FAILED]
    assert closed == lifecycle.CLOSED
    assert lifecycle.is_finished(closed) and not lifecycle.holds_account(closed)
    assert closed not in lifecycle.NEEDS_ATTENTION and closed not in lifecycle.IN_FLIGHT


def test_a_closed_requests_reason_is_its_closing_entrys_note():
    entries = [{"from_state": lifecycle.SUBMITTED, "to_state": lifecycle.FAILED, "note": "provision failed: taken"},
               {"from_state": lifecycle.FAILED, "to_state": lifecycle.CLOSED, "note": "The invitee already has an account."},
               # a later request's link keeps the state: it is not what closed the request
               {"from_state": lifecycle.CLOSED, "to_state": lifecycle.CLOSED, "note": ""}]
    assert lifecycle.ending_entry(Request(lifecycle.CLOSED), entries)["note"] == "The invitee already has an account."
    assert lifecycle.ending_entry(Request(lifecycle.FAILED), entries[:1])["note"] == "provision failed: taken"
    assert lifecycle.ending_entry(Request(lifecycle.SENT), entries) is None


def test_a_request_may_be_asked_for_again_once_it_ended_or_stopped_without_its_invitation():
    stopped = set(workflow.TRANSITIONS[Verb.FAIL].values())
    assert set(lifecycle.ENDED_UNSENT) == (set(workflow.TERMINAL) - {lifecycle.SENT}) | stopped
    assert all(lifecycle.can_request_again(Request(state)) for state in lifecycle.ENDED_UNSENT)
    assert not any(lifecycle.can_request_again(Request(state)) for state in set(lifecycle.STATES) - set(lifecycle.ENDED_UNSENT))


def test_a_requesters_groups_never_share_a_state():
    grouped = [state for states in lifecycle.REQUESTER_GROUPS.values() for state in states]
    assert len(grouped) == len(set(grouped)) and set(grouped) <= set(lifecycle.STATES)


class Request:
    def __init__(self, state, pending_action=None):
        self.state, self.pending_action = state, pending_action


def test_a_request_awaits_a_decision_until_one_is_accepted_or_approval_moves_it():
    assert lifecycle.awaiting_decision(Request(lifecycle.SUBMITTED))
    assert not lifecycle.awaiting_decision(Request(lifecycle.SUBMITTED, pending_action=Verb.APPROVE))
    being_cancelled = Request(lifecycle.SUBMITTED, pending_action=Verb.CANCEL)
    assert lifecycle.is_undecided(being_cancelled) and lifecycle.being_cancelled(being_cancelled)
    assert lifecycle.action_in_flight(being_cancelled)
    for state in set(lifecycle.STATES) - {lifecycle.SUBMITTED}:
        assert not lifecycle.awaiting_decision(Request(state)) and not lifecycle.is_undecided(Request(state))


def test_a_request_is_named_approved_in_every_state_only_an_approval_leads_to():
    approved = workflow.TRANSITIONS[Verb.APPROVE][lifecycle.SUBMITTED]
    reached, frontier = {approved}, [approved]
    while frontier:
        state = frontier.pop()
        for moves in workflow.TRANSITIONS.values():
            target = moves.get(state)
            if target not in (None, workflow.FAILED_FROM) and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert set(lifecycle.AFTER_APPROVAL) == reached
    for state in reached:
        assert lifecycle.cancel_refused_because(Request(state)) == lifecycle.ALREADY_APPROVED, state


def test_a_cancellation_is_refused_with_what_happened_to_the_request_first():
    ends = {verb: workflow.TRANSITIONS[verb][lifecycle.SUBMITTED] for verb in (Verb.REJECT, Verb.CANCEL, Verb.EXPIRE)}
    assert lifecycle.cancel_refused_because(Request(ends[Verb.REJECT])) == lifecycle.ALREADY_REJECTED
    assert lifecycle.cancel_refused_because(Request(ends[Verb.CANCEL])) == lifecycle.ALREADY_CANCELLED
    assert lifecycle.cancel_refused_because(Request(ends[Verb.EXPIRE])) == lifecycle.ALREADY_EXPIRED
    # a decision or cancellation accepted here, on its way to approval, counts as made
    for action, refusal in ((Verb.APPROVE, lifecycle.ALREADY_APPROVED), (Verb.REJECT, lifecycle.ALREADY_REJECTED),
                            (Verb.CANCEL, lifecycle.ALREADY_CANCELLED)):
        assert lifecycle.cancel_refused_because(Request(lifecycle.SUBMITTED, pending_action=action)) == refusal
    # every state but the one cancellations leave from has its reason
    for state in set(lifecycle.STATES) - {lifecycle.SUBMITTED}:
        assert lifecycle.cancel_refused_because(Request(state)) != lifecycle.NO_LONGER_PENDING, state
