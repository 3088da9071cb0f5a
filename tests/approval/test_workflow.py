"""The request lifecycle table: what it allows, what it refuses, and the policy checks beside it."""
from __future__ import annotations

import itertools

import pytest
from invite_common.errors import PermanentError
from invite_common.messages import State, Verb

from approval import workflow
from approval.workflow import (
    FAILED_FROM, STATES, TERMINAL, TRANSITIONS, InvalidTransition, SeparationOfDutiesViolation,
    check_not_requester, needs_seed, next_state, step_after_account,
)

ROWS = [(verb, source, target) for verb, row in TRANSITIONS.items() for source, target in row.items()]
FAILABLE = sorted(TRANSITIONS[Verb.FAIL])
# What each state allows, written out from the lifecycle in the design, not read from the table.
ALLOWED = {
    # approve_level: one level of several approved, the request waits (still submitted) in the next
    "submitted": {"approve", "approve_level", "reject", "cancel", "expire"},
    "approved": {"provision", "fail"},
    "account_created": {"request_seed", "mark_emailed", "fail"},
    "seed_requested": {"mark_emailed", "fail"},
    "failed": {"retry", "close"},
    "rejected": set(),
    "cancelled": set(),
    "expired": set(),
    "closed": set(),
    # sent again at the requester's wish, an emailed invitation stays emailed
    "emailed": {"resend"},
}
VERBS = ("approve", "approve_level", "reject", "cancel", "expire", "provision", "request_seed", "mark_emailed", "fail", "retry", "close",
         "resend")


def test_the_table_is_exactly_the_designed_lifecycle():
    assert STATES == (
        "submitted", "approved", "rejected", "cancelled", "expired",
        "account_created", "seed_requested", "emailed", "failed", "closed",
    )
    assert TERMINAL == {"rejected", "cancelled", "expired", "emailed", "closed"}
    assert {(verb, source, target) for verb, source, target in ROWS} == {
        ("approve", "submitted", "approved"),
        ("approve_level", "submitted", "submitted"),
        ("reject", "submitted", "rejected"),
        ("cancel", "submitted", "cancelled"),
        ("expire", "submitted", "expired"),
        ("provision", "approved", "account_created"),
        ("request_seed", "account_created", "seed_requested"),
        ("mark_emailed", "account_created", "emailed"),
        ("mark_emailed", "seed_requested", "emailed"),
        ("fail", "approved", "failed"),
        ("fail", "account_created", "failed"),
        ("fail", "seed_requested", "failed"),
        ("retry", "failed", FAILED_FROM),
        ("close", "failed", "closed"),
        ("resend", "emailed", "emailed"),
    }


def test_a_request_awaits_a_decision_where_an_approver_may_approve_reject_or_let_it_expire():
    assert workflow.AWAITING_DECISION == {"submitted"}
    for verb in ("approve", "reject", "expire"):
        assert set(TRANSITIONS[verb]) == workflow.AWAITING_DECISION


def test_every_state_named_in_the_table_is_a_known_state():
    for _verb, source, target in ROWS:
        assert source in STATES
        assert target in STATES or target == FAILED_FROM


def test_the_table_cannot_be_changed_at_run_time():
    with pytest.raises(TypeError):
        TRANSITIONS["approve"] = {"rejected": "approved"}


@pytest.mark.parametrize("verb,source,target", [row for row in ROWS if row[2] != FAILED_FROM])
def test_every_row_of_the_table_is_allowed(verb, source, target):
    assert next_state(source, verb) == target


@pytest.mark.parametrize("state,verb", list(itertools.product(ALLOWED, VERBS)))
def test_each_state_allows_exactly_the_designed_verbs(state, verb):
    try:
        next_state(state, verb, failed_from="approved")
        allowed = True
    except InvalidTransition:
        allowed = False
    assert allowed == (verb in ALLOWED[state])


@pytest.mark.parametrize("state", sorted(TERMINAL))
def test_terminal_states_are_never_left(state):
    for verb in TRANSITIONS:
        try:
            assert next_state(state, verb, failed_from=State.APPROVED) == state
        except InvalidTransition:
            pass


def test_only_a_resend_is_recorded_on_a_sent_invitation():
    assert [verb for verb in TRANSITIONS if "emailed" in TRANSITIONS[verb]] == ["resend"]


@pytest.mark.parametrize("invitee,actor", [("bob@tech.gov.sg", "bob@tech.gov.sg"), ("Bob@Tech.gov.sg", " bob@tech.gov.sg ")])
def test_an_approver_cannot_decide_an_invitation_of_themselves(invitee, actor):
    with pytest.raises(SeparationOfDutiesViolation):
        workflow.check_not_invitee(invitee, actor)


def test_a_requester_cannot_invite_themselves():
    with pytest.raises(workflow.SelfInvitation):
        workflow.check_not_self_invitation("amy@tech.gov.sg", "AMY@tech.gov.sg")
    workflow.check_not_self_invitation("amy@tech.gov.sg", "jane@tech.gov.sg")


def test_failed_accepts_only_an_operators_retry_or_close():
    allowed = [verb for verb in TRANSITIONS if State.FAILED in TRANSITIONS[verb]]
    assert allowed == [Verb.RETRY, Verb.CLOSE]


def test_a_failed_request_can_be_closed_and_a_closed_one_is_final():
    assert next_state(State.FAILED, Verb.CLOSE) == State.CLOSED
    assert State.CLOSED in TERMINAL
    for verb in TRANSITIONS:
        with pytest.raises(InvalidTransition):
            next_state(State.CLOSED, verb, failed_from=State.APPROVED)


@pytest.mark.parametrize("state", [s for s in STATES if s != State.FAILED])
def test_closing_anything_but_a_failed_request_is_refused(state):
    with pytest.raises(InvalidTransition, match=f"cannot close a request that is {state}"):
        next_state(state, Verb.CLOSE)


def test_a_closing_reason_is_kept_trimmed():
    assert workflow.check_closing_reason("  The invitee already has an account.  ") == "The invitee already has an account."


@pytest.mark.parametrize("reason", [
    "", "   ", None,
    "x" * (workflow.CLOSING_REASON_MAX + 1),
    "first line\nsecond line",
    "tab\there",
    "bell\x07",
    "\x9bC1 control",
    "looks fine \u202egnp.exe",  # right-to-left override: shown reversed
])
def test_a_closing_reason_must_be_plain_text_a_requester_can_read(reason):
    with pytest.raises(workflow.InvalidReason):
        workflow.check_closing_reason(reason)


def test_a_closing_reason_may_be_any_script_up_to_its_limit():
    reason = "申请人已离职；" + "é" * (workflow.CLOSING_REASON_MAX - 7)
    assert workflow.check_closing_reason(reason) == reason


@pytest.mark.parametrize("failed_from", FAILABLE)
def test_retry_returns_to_the_state_the_request_failed_from(failed_from):
    failed = next_state(failed_from, Verb.FAIL)
    assert failed == State.FAILED
    assert next_state(failed, Verb.RETRY, failed_from=failed_from) == failed_from


@pytest.mark.parametrize("failed_from", [None, "submitted", "failed", "emailed", "nonsense"])
def test_retry_refuses_a_state_the_request_could_not_have_failed_from(failed_from):
    with pytest.raises(InvalidTransition):
        next_state(State.FAILED, Verb.RETRY, failed_from=failed_from)


def test_a_stale_failed_from_does_not_affect_other_verbs():
    assert next_state("approved", "provision", failed_from="approved") == "account_created"


@pytest.mark.parametrize("state,verb", [("submitted", "explode"), ("limbo", "approve"), ("", "")])
def test_unknown_states_and_verbs_are_refused(state, verb):
    with pytest.raises(InvalidTransition):
        next_state(state, verb)


def test_a_refused_transition_is_a_permanent_error_naming_the_verb_and_state():
    with pytest.raises(PermanentError, match="cannot approve a request that is emailed"):
        next_state("emailed", "approve")


@pytest.mark.parametrize("requester,actor", [
    ("alice@tech.gov.sg", "alice@tech.gov.sg"),
    ("Alice@Tech.Gov.SG", "alice@tech.gov.sg"),
    ("alice@tech.gov.sg", " ALICE@TECH.GOV.SG "),
])
def test_an_approver_cannot_decide_their_own_request_whatever_the_case(requester, actor):
    with pytest.raises(SeparationOfDutiesViolation):
        check_not_requester(requester, actor)


def test_separation_of_duties_violation_is_permanent():
    assert issubclass(SeparationOfDutiesViolation, PermanentError)


def test_another_approver_may_decide():
    check_not_requester("alice@tech.gov.sg", "bob@tech.gov.sg")


@pytest.mark.parametrize("user_type,seed_onboarding,offshore,expected", [
    ("public_officer", False, False, False),
    ("public_officer", True, False, True),
    ("public_officer", False, True, False),
    ("vendor", False, False, False),
    ("vendor", True, False, True),
    ("vendor", False, True, True),
    ("vendor", True, True, True),
])
def test_seed_is_needed_when_asked_for_and_always_for_offshore_vendors(
    user_type, seed_onboarding, offshore, expected
):
    assert needs_seed(user_type, seed_onboarding, offshore) is expected


def test_an_unknown_user_type_is_not_silently_spared_seed():
    with pytest.raises(ValueError):
        needs_seed("Vendor", False, True)


def test_after_the_account_a_seed_invitee_is_booked_first():
    assert step_after_account(True) == "request_seed"
    assert next_state("account_created", step_after_account(True)) == "seed_requested"


def test_after_the_account_anyone_else_goes_straight_to_the_invitation_email():
    assert step_after_account(False) == workflow.SEND_INVITATION_EMAIL
    # the email step is not itself a transition: the request waits in account_created for `email.sent`
    assert workflow.SEND_INVITATION_EMAIL not in TRANSITIONS
    assert next_state("account_created", "mark_emailed") == "emailed"


def test_an_approved_request_first_gets_its_account():
    assert workflow.step_after_approval() == "provision"


@pytest.mark.parametrize("resumed,needs,step", [
    ("approved", False, "provision"),
    ("approved", True, "provision"),
    ("account_created", True, "request_seed"),
    ("account_created", False, workflow.SEND_INVITATION_EMAIL),
    ("seed_requested", True, workflow.SEND_INVITATION_EMAIL),
])
def test_a_retried_request_runs_again_the_step_it_failed_in(resumed, needs, step):
    assert workflow.step_on_retry(resumed, needs) == step


@pytest.mark.parametrize("resumed", ["submitted", "failed", "emailed"])
def test_nothing_is_retried_from_a_state_no_step_fails_in(resumed):
    with pytest.raises(InvalidTransition):
        workflow.step_on_retry(resumed, False)
